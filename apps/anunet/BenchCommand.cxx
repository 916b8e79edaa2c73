/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         https://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
// `anunet bench` (issue 17, section 1): the machine's reference rates, our forward passes, the eager-PyTorch
// peer in its three settings, the ITK filter's overhead, `anunet segment`'s peak memory and a training step,
// all in one run so that every ratio compares numbers from the same machine and thread count. The LibTorch
// kernels live in src/anunet/Benchmark.cxx; the eager peer is benchmarks/eager_bench.py, run as child
// processes because the allocator and OpenBLAS settings it compares are process-wide.
#include "Commands.h"

#include "anunet/Benchmark.h"
#include "anunet/Catalog.h"

#include "itkANUNetModel.h"
#include "itkANUNetSegmentationImageFilter.h"
#include "itkImageFileWriter.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char ** environ;

namespace anunet::cli
{
namespace
{
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using benchmark::Rate;
using benchmark::TimingPolicy;

struct BenchArguments
{
  bool        json = false;
  bool        quick = false;
  bool        smoke = false;
  bool        noEager = false;
  int         threads = 0;
  std::string python = "/usr/bin/python3";
  std::string eagerScript = std::string(ANUNET_SOURCE_DIR) + "/benchmarks/eager_bench.py";
};

/** What one run measures; the three modes differ only here. */
struct Plan
{
  struct Forward
  {
    Architecture architecture;
    int          level; ///< 0 for networks without levels
    int          size;
    int          batch;
  };
  struct TrainingStep
  {
    std::string      name;
    std::vector<int> filters;
    int              size;
    int              batch;
  };
  int                  convolutionBatch = 4, convolutionChannels = 64, convolutionSize = 256, matmulSize = 2048;
  std::vector<int>     filters{ 32, 64, 128, 256, 512 }; ///< inference networks
  std::vector<Forward> forwards;
  std::vector<int>     filterLevels;     ///< ITK filter vs bare network, ANU-Net
  int                  filterSlices = 8; ///< N of the 512 x 512 x N volume
  /** The eager peer repeats our ANU-Net forwards up to this size: 512^2 would add a minute per setting to a
   * full run, and the targets compare at 256^2. */
  int                       eagerMaximumSize = 256;
  int                       volumeSize = 512;
  int                       networkSize = 256;
  std::vector<int>          memorySlices; ///< `anunet segment` peak RSS, one run per N
  std::vector<TrainingStep> training;
  TimingPolicy              policy;
  TimingPolicy              trainingPolicy;
};

Plan
makePlan(const BenchArguments & arguments)
{
  Plan plan;
  plan.trainingPolicy.budgetSeconds = 5.0; // the warm-up step also allocates Adam's state
  const std::vector<int> demoFilters{ 16, 32, 64, 128, 256 };
  if (arguments.smoke)
  {
    // Every code path at a size that runs in seconds; the numbers mean nothing.
    plan.convolutionBatch = 1;
    plan.convolutionChannels = 8;
    plan.convolutionSize = 32;
    plan.matmulSize = 128;
    plan.filters = { 4, 8, 16, 32, 64 };
    plan.forwards = { { Architecture::ANUNet, 1, 32, 1 } };
    plan.filterLevels = { 1 };
    plan.filterSlices = 2;
    plan.volumeSize = 48;
    plan.networkSize = 32;
    plan.memorySlices = { 2, 3 };
    plan.training = { { "smoke", { 4, 8, 16, 32, 64 }, 32, 2 } };
    plan.policy = { 1, 2, 2, 0.0 };
    plan.trainingPolicy = { 1, 2, 2, 0.0 };
    return plan;
  }
  plan.training = { { "demo", demoFilters, 128, 4 } };
  if (arguments.quick)
  {
    plan.forwards = { { Architecture::ANUNet, 1, 256, 1 },
                      { Architecture::ANUNet, 4, 256, 1 },
                      { Architecture::ANUNet, 4, 256, 8 } };
    return plan;
  }
  plan.training.push_back({ "full-width", plan.filters, 256, 4 });
  for (const auto architecture : allArchitectures())
  {
    const std::vector<int> levels =
      hasPruningLevels(architecture) ? std::vector<int>{ 1, 2, 3, 4 } : std::vector<int>{ 0 };
    for (const int level : levels)
    {
      for (const auto & [size, batch] : std::vector<std::pair<int, int>>{ { 256, 1 }, { 256, 8 }, { 512, 1 } })
      {
        plan.forwards.push_back({ architecture, level, size, batch });
      }
    }
  }
  plan.filterLevels = { 1, 4 };
  // Level 1 keeps the two segment runs short; what they measure is how memory grows with N.
  plan.memorySlices = { 50, 200 };
  return plan;
}

/** A temporary folder for checkpoints, inputs and volumes, removed with the object. */
class WorkFolder
{
public:
  WorkFolder()
  {
    std::string pattern = (fs::temp_directory_path() / "anunet-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
    {
      throw std::runtime_error("cannot create a temporary folder under " + fs::temp_directory_path().string());
    }
    m_Path = pattern;
  }
  ~WorkFolder()
  {
    std::error_code ignored;
    fs::remove_all(m_Path, ignored);
  }
  WorkFolder(const WorkFolder &) = delete;
  WorkFolder &
  operator=(const WorkFolder &) = delete;
  std::string
  operator/(const std::string & name) const
  {
    return (m_Path / name).string();
  }

private:
  fs::path m_Path;
};

template <typename T>
void
writeRaw(const std::vector<T> & values, const std::string & path)
{
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char *>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
  if (!file)
  {
    throw std::runtime_error("cannot write " + path);
  }
}

struct ChildResult
{
  int    status = -1; ///< exit status, or -1 when killed by a signal
  double seconds = 0.0;
};

/** Runs argv with environment overrides (value empty = removed), stdout and stderr to files, and waits. */
ChildResult
runChild(const std::vector<std::string> &                         argv,
         const std::vector<std::pair<std::string, std::string>> & overrides,
         const std::string &                                      stdoutPath,
         const std::string &                                      stderrPath)
{
  std::vector<std::string> environment;
  for (char ** entry = environ; *entry != nullptr; ++entry)
  {
    const std::string text(*entry);
    const bool        replaced = std::any_of(overrides.begin(), overrides.end(), [&](const auto & o) {
      return text.compare(0, o.first.size() + 1, o.first + "=") == 0;
    });
    if (!replaced)
    {
      environment.push_back(text);
    }
  }
  for (const auto & [name, value] : overrides)
  {
    if (!value.empty())
    {
      environment.push_back(name + "=" + value);
    }
  }
  std::vector<char *> argvPointers;
  for (const auto & a : argv)
  {
    argvPointers.push_back(const_cast<char *>(a.c_str()));
  }
  argvPointers.push_back(nullptr);
  std::vector<char *> environmentPointers;
  for (const auto & e : environment)
  {
    environmentPointers.push_back(const_cast<char *>(e.c_str()));
  }
  environmentPointers.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdoutPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderrPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const auto start = std::chrono::steady_clock::now();
  pid_t      pid = 0;
  const int  error =
    posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, argvPointers.data(), environmentPointers.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0)
  {
    throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(error));
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid)
  {
    throw std::runtime_error("lost the child process " + argv[0]);
  }
  ChildResult result;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string
readText(const std::string & path)
{
  std::ifstream      file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

/** Collects the measurements; each row is one JSON object of the output. */
class Report
{
public:
  explicit Report(int threads)
    : m_Threads(threads)
  {}

  double convolutionPeak = 0.0; ///< GFLOP/s

  Json &
  add(const std::string &         kind,
      std::optional<Architecture> architecture,
      std::optional<int>          level,
      int                         size,
      int                         batch,
      const std::string &         implementation,
      const benchmark::Timing &   timing,
      double                      gflop,
      const std::string &         dtype = "float32")
  {
    Json row;
    row["kind"] = kind;
    row["architecture"] = architecture ? Json(toString(*architecture)) : Json(nullptr);
    row["level"] = level ? Json(*level) : Json(nullptr);
    row["size"] = size;
    row["batch"] = batch;
    row["threads"] = m_Threads;
    row["dtype"] = dtype;
    row["implementation"] = implementation;
    row["min_s"] = timing.minimumSeconds;
    row["median_s"] = timing.medianSeconds;
    row["runs"] = timing.runs;
    row["gflop"] = gflop;
    const double gflops = timing.minimumSeconds > 0.0 && gflop > 0.0 ? gflop / timing.minimumSeconds : 0.0;
    row["gflops"] = gflop > 0.0 ? Json(gflops) : Json(nullptr);
    row["peak_fraction"] = gflop > 0.0 && convolutionPeak > 0.0 ? Json(gflops / convolutionPeak) : Json(nullptr);
    m_Rows.push_back(std::move(row));
    std::cerr << "bench: " << describe(m_Rows.back()) << '\n';
    return m_Rows.back();
  }

  Json &
  add(const std::string &         kind,
      std::optional<Architecture> architecture,
      std::optional<int>          level,
      int                         size,
      int                         batch,
      const std::string &         implementation,
      const Rate &                rate,
      const std::string &         dtype = "float32")
  {
    return add(kind, architecture, level, size, batch, implementation, rate.timing, rate.gflop, dtype);
  }

  Json &
  row(size_t index)
  {
    return m_Rows.at(index);
  }
  size_t
  size() const
  {
    return m_Rows.size();
  }
  const std::vector<Json> &
  rows() const
  {
    return m_Rows;
  }

  static std::string
  describe(const Json & row)
  {
    char        text[256];
    std::string what = row["kind"].get<std::string>();
    if (!row["architecture"].is_null())
    {
      what += " " + row["architecture"].get<std::string>();
      if (!row["level"].is_null())
      {
        what += " L" + std::to_string(row["level"].get<int>());
      }
    }
    std::snprintf(text,
                  sizeof(text),
                  "%-34s %4d^2 x%-2d %-20s min %8.4f s  median %8.4f s",
                  what.c_str(),
                  row["size"].get<int>(),
                  row["batch"].get<int>(),
                  (row["implementation"].get<std::string>() +
                   (row["dtype"] == "float32" ? "" : " " + row["dtype"].get<std::string>()))
                    .c_str(),
                  row["min_s"].get<double>(),
                  row["median_s"].get<double>());
    std::string line = text;
    if (!row["gflops"].is_null())
    {
      std::snprintf(text, sizeof(text), "  %7.1f GFLOP/s", row["gflops"].get<double>());
      line += text;
    }
    if (!row["peak_fraction"].is_null())
    {
      std::snprintf(text, sizeof(text), "  %5.1f %% of conv peak", 100.0 * row["peak_fraction"].get<double>());
      line += text;
    }
    return line;
  }

private:
  int               m_Threads;
  std::vector<Json> m_Rows;
};

struct EagerSetting
{
  const char *                                     name;
  std::vector<std::pair<std::string, std::string>> environment;
};

/** The three settings of docs/reference.md §4. "As users run it" clears the variables rather than inheriting
 * whatever the caller's shell has. */
std::vector<EagerSetting>
eagerSettings()
{
  const std::string large = "2147483647";
  return {
    { "eager-pytorch",
      { { "MALLOC_MMAP_THRESHOLD_", "" }, { "MALLOC_TRIM_THRESHOLD_", "" }, { "OPENBLAS_NUM_THREADS", "" } } },
    { "eager-pytorch-tuned",
      { { "MALLOC_MMAP_THRESHOLD_", large }, { "MALLOC_TRIM_THRESHOLD_", large }, { "OPENBLAS_NUM_THREADS", "" } } },
    { "eager-pytorch-best",
      { { "MALLOC_MMAP_THRESHOLD_", large }, { "MALLOC_TRIM_THRESHOLD_", large }, { "OPENBLAS_NUM_THREADS", "1" } } }
  };
}

/** A measurement of ours that the eager peer repeats: the spec entry and the row it is compared with. */
struct EagerTask
{
  Json   spec;
  size_t oursRow;
};

void
runEager(const BenchArguments &         arguments,
         const Plan &                   plan,
         const std::vector<EagerTask> & tasks,
         const WorkFolder &             work,
         Report &                       report,
         Json &                         notes)
{
  if (tasks.empty())
  {
    return;
  }
  if (arguments.noEager)
  {
    notes.push_back("eager PyTorch peer skipped (--no-eager)");
    return;
  }
  if (access(arguments.python.c_str(), X_OK) != 0 || !fs::is_regular_file(arguments.eagerScript))
  {
    notes.push_back("eager PyTorch peer skipped: " + arguments.python + " or " + arguments.eagerScript + " not found");
    return;
  }
  Json spec;
  spec["threads"] = arguments.threads;
  const auto policyJson = [](const TimingPolicy & p) {
    return Json{ { "warmups", p.warmups },
                 { "minimum_runs", p.minimumRuns },
                 { "maximum_runs", p.maximumRuns },
                 { "budget_seconds", p.budgetSeconds } };
  };
  spec["measurements"] = Json::array();
  for (size_t id = 0; id < tasks.size(); ++id)
  {
    Json entry = tasks[id].spec;
    entry["id"] = id;
    entry["timing"] = policyJson(entry["kind"] == "training-step" ? plan.trainingPolicy : plan.policy);
    spec["measurements"].push_back(entry);
  }
  const std::string specPath = work / "eager.json";
  std::ofstream(specPath) << spec.dump(2);
  for (const auto & setting : eagerSettings())
  {
    const std::string out = work / "eager.out";
    const std::string err = work / "eager.err";
    std::cerr << "bench: running the eager peer, " << setting.name << '\n';
    const auto child = runChild({ arguments.python, arguments.eagerScript, specPath }, setting.environment, out, err);
    if (child.status != 0)
    {
      // Ours took minutes to measure: keep them and whatever the peer finished, and say what went wrong.
      const std::string message = readText(err);
      notes.push_back(std::string("the eager peer (") + setting.name +
                      ") failed: " + message.substr(message.size() > 2000 ? message.size() - 2000 : 0));
      std::cerr << "bench: the eager peer (" << setting.name << ") failed:\n" << message;
    }
    std::istringstream lines(readText(out));
    for (std::string line; std::getline(lines, line);)
    {
      if (line.empty() || line[0] != '{')
      {
        continue;
      }
      const auto        result = Json::parse(line);
      const auto &      task = tasks.at(result["id"].get<size_t>());
      const Json &      ours = report.row(task.oursRow);
      benchmark::Timing timing;
      timing.minimumSeconds = result["min_s"];
      timing.medianSeconds = result["median_s"];
      timing.runs = result["runs"];
      std::optional<int> level;
      if (!ours["level"].is_null())
      {
        level = ours["level"].get<int>();
      }
      const double gflop = ours["gflop"];
      // Copy what the row needs before add() may reallocate the rows that ours refers to.
      const std::string kind = ours["kind"];
      const auto        architecture = architectureFromString(ours["architecture"].get<std::string>());
      const int         size = ours["size"];
      const int         batch = ours["batch"];
      const double      oursMinimum = ours["min_s"];
      const Json        filters = ours.value("filters", Json(nullptr));
      auto &            row = report.add(kind, architecture, level, size, batch, setting.name, timing, gflop);
      if (!filters.is_null())
      {
        row["filters"] = filters;
      }
      row["torch_version"] = result["torch_version"];
      row["ours_speedup"] = timing.minimumSeconds / oursMinimum;
    }
  }
}

NetworkOptions
networkOptions(Architecture architecture, const std::vector<int> & filters)
{
  NetworkOptions options;
  options.architecture = architecture;
  options.filters = filters;
  options.deepSupervision = true;
  return options;
}

/** The ITK filter end to end on a volumeSize^2 x N float volume (no I/O), and the bare network on N
 * network-size slices in the filter's batches: the difference is the pipeline (preprocessing, resampling,
 * copies, thresholding). */
void
measureFilter(const Plan & plan, int threads, Report & report)
{
  using ImageType = itk::Image<float, 3>;
  using LabelType = itk::Image<unsigned char, 3>;
  constexpr unsigned int batch = 4; // `anunet segment`'s default
  auto                   volume = ImageType::New();
  ImageType::SizeType    size{ { static_cast<itk::SizeValueType>(plan.volumeSize),
                                 static_cast<itk::SizeValueType>(plan.volumeSize),
                                 static_cast<itk::SizeValueType>(plan.filterSlices) } };
  volume->SetRegions(ImageType::RegionType(size));
  volume->Allocate();
  const auto noise =
    benchmark::syntheticImage(static_cast<int64_t>(volume->GetBufferedRegion().GetNumberOfPixels()), 3);
  std::transform(noise.begin(), noise.end(), volume->GetBufferPointer(), [](float u) { return 600.0F * u - 300.0F; });

  auto model = Model::create(networkOptions(Architecture::ANUNet, plan.filters), 0);
  auto preprocessing = model.preprocessing();
  preprocessing.width = plan.networkSize;
  preprocessing.height = plan.networkSize;
  model.setPreprocessing(preprocessing);
  model.setNumberOfThreads(threads);
  auto itkModel = itk::ANUNetModel::New();
  itkModel->SetModel(model);

  const int64_t      n = plan.filterSlices;
  const int64_t      pixels = static_cast<int64_t>(plan.networkSize) * plan.networkSize;
  const auto         slices = benchmark::syntheticImage(n * pixels, 4);
  std::vector<float> output(slices.size());
  for (const int level : plan.filterLevels)
  {
    const double gflop = static_cast<double>(n) * benchmark::forwardGflop(model, level, plan.networkSize);
    auto         filter = itk::ANUNetSegmentationImageFilter<ImageType, LabelType>::New();
    filter->SetInput(volume);
    filter->SetModelInput(itkModel);
    filter->SetLevel(level);
    filter->SetNumberOfThreads(threads);
    filter->SetBatchSize(batch);
    const auto filterTiming = benchmark::measure(
      [&] {
        filter->Modified();
        filter->Update();
      },
      plan.policy);
    const auto bareTiming = benchmark::measure(
      [&] {
        ScopedThreadCount threadCount(threads); // as the filter holds it
        for (int64_t first = 0; first < n; first += batch)
        {
          const int64_t count = std::min<int64_t>(batch, n - first);
          model.run(slices.data() + first * pixels,
                    { count, 1, plan.networkSize, plan.networkSize },
                    level,
                    output.data() + first * pixels);
        }
      },
      plan.policy);
    const size_t bareRow = report.size();
    report.add(
      "bare-network", Architecture::ANUNet, level, plan.networkSize, batch, "ours", bareTiming, gflop)["slices"] = n;
    auto & row =
      report.add("itk-filter", Architecture::ANUNet, level, plan.networkSize, batch, "ours", filterTiming, gflop);
    row["slices"] = n;
    row["volume"] = { plan.volumeSize, plan.volumeSize, n };
    row["overhead"] = filterTiming.minimumSeconds / report.row(bareRow)["min_s"].get<double>() - 1.0;
  }
}

/** Runs a command under a small Python process and returns the command's peak RSS in MiB. Not wait4 on a
 * child of this process: Linux carries the high-water RSS of the address space a process exec()s from into
 * its ru_maxrss, and posix_spawn execs from this process's (gigabytes after the networks above), so every
 * child would report at least that. A child forked by a fresh, small process starts from the helper's ~10 MiB. */
double
peakResidentMiB(const std::string & python, std::vector<std::string> command, const WorkFolder & work)
{
  static const std::string helper =
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n";
  const std::string rssPath = work / "segment.rss";
  command.insert(command.begin(), { python, "-c", helper, rssPath });
  const auto child = runChild(command, {}, work / "segment.out", work / "segment.err");
  if (child.status != 0)
  {
    throw std::runtime_error("anunet segment failed:\n" + readText(work / "segment.err"));
  }
  return std::stod(readText(rssPath)) / 1024.0; // Linux: KiB
}

/** Peak resident memory of `anunet segment` (this executable, as a child) on volumes of N slices. */
void
measureSegmentMemory(const Plan &        plan,
                     int                 threads,
                     const std::string & python,
                     const WorkFolder &  work,
                     Report &            report,
                     Json &              notes)
{
  if (plan.memorySlices.empty())
  {
    return;
  }
  if (access(python.c_str(), X_OK) != 0)
  {
    notes.push_back("peak memory of anunet segment skipped: it is measured through " + python + ", not found");
    return;
  }
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  auto              model = Model::create(networkOptions(Architecture::ANUNet, plan.filters), 0);
  auto              preprocessing = model.preprocessing();
  preprocessing.width = plan.networkSize;
  preprocessing.height = plan.networkSize;
  model.setPreprocessing(preprocessing);
  const std::string checkpoint = work / "segment-model.pt";
  model.save(checkpoint);
  constexpr int level = 1;
  constexpr int batch = 4;
  for (const int slices : plan.memorySlices)
  {
    using VolumeType = itk::Image<short, 3>;
    auto                 volume = VolumeType::New();
    VolumeType::SizeType size{ { static_cast<itk::SizeValueType>(plan.volumeSize),
                                 static_cast<itk::SizeValueType>(plan.volumeSize),
                                 static_cast<itk::SizeValueType>(slices) } };
    volume->SetRegions(VolumeType::RegionType(size));
    volume->Allocate();
    const auto noise =
      benchmark::syntheticImage(static_cast<int64_t>(volume->GetBufferedRegion().GetNumberOfPixels()), 5);
    std::transform(noise.begin(), noise.end(), volume->GetBufferPointer(), [](float u) {
      return static_cast<short>(600 * u - 300);
    });
    const std::string input = work / ("volume-" + std::to_string(slices) + ".mha");
    auto              writer = itk::ImageFileWriter<VolumeType>::New();
    writer->SetInput(volume);
    writer->SetFileName(input);
    writer->Update();
    volume = nullptr; // not part of what the child's memory is compared with, but of this process's

    const auto        start = std::chrono::steady_clock::now();
    const double      peak = peakResidentMiB(python,
                                        { self,
                                               "segment",
                                               "--model",
                                               checkpoint,
                                               "--input",
                                               input,
                                               "--output",
                                               work / "segmented.mha",
                                               "--level",
                                               std::to_string(level),
                                               "--batch",
                                               std::to_string(batch),
                                               "--threads",
                                               std::to_string(threads) },
                                        work);
    benchmark::Timing timing;
    timing.minimumSeconds = timing.medianSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    timing.runs = 1;
    auto & row =
      report.add("segment-peak-memory", Architecture::ANUNet, level, plan.networkSize, batch, "ours", timing, 0.0);
    row["slices"] = slices;
    row["volume"] = { plan.volumeSize, plan.volumeSize, slices };
    row["peak_rss_mib"] = peak;
    fs::remove(input);
  }
}

Json
machineJson(const benchmark::MachineFacts & facts, int threads)
{
  return { { "cpu_model", facts.cpuModel },
           { "cpu_flags", facts.cpuFlags },
           { "bf16", facts.bf16 },
           { "amx", std::find(facts.cpuFlags.begin(), facts.cpuFlags.end(), "amx_tile") != facts.cpuFlags.end() },
           { "logical_cpus", facts.logicalCpus },
           { "physical_cores", facts.physicalCores },
           { "libtorch_version", facts.libtorchVersion },
           { "libtorch_default_threads", facts.libtorchDefaultThreads },
           { "threads", threads } };
}

void
printTable(const Json & machine, const Report & report, const Json & notes)
{
  std::cout << "machine: " << machine["cpu_model"].get<std::string>() << ", " << machine["logical_cpus"].get<int>()
            << " logical CPUs (" << machine["physical_cores"].get<int>() << " cores), flags";
  for (const auto & flag : machine["cpu_flags"])
  {
    std::cout << ' ' << flag.get<std::string>();
  }
  std::cout << "; LibTorch " << machine["libtorch_version"].get<std::string>()
            << "; threads: " << machine["threads"].get<int>() << '\n';
  for (const auto & row : report.rows())
  {
    std::cout << Report::describe(row);
    if (row.contains("ours_speedup"))
    {
      std::printf("  ours %.2fx faster", row["ours_speedup"].get<double>());
    }
    if (row.contains("overhead"))
    {
      std::printf("  overhead %+.1f %%", 100.0 * row["overhead"].get<double>());
    }
    if (row.contains("peak_rss_mib"))
    {
      std::printf("  N = %d: peak RSS %.0f MiB", row["slices"].get<int>(), row["peak_rss_mib"].get<double>());
    }
    std::cout << '\n';
  }
  for (const auto & note : notes)
  {
    std::cout << "note: " << note.get<std::string>() << '\n';
  }
}

void
runBench(BenchArguments arguments)
{
  if (arguments.threads <= 0)
  {
    arguments.threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  }
  const auto facts = benchmark::machineFacts(); // before anything changes LibTorch's thread count
  const Plan plan = makePlan(arguments);
  const auto start = std::chrono::steady_clock::now();
  WorkFolder work;
  // Progress goes to stderr in both modes: a full run takes minutes, and --json owns only stdout.
  Report report(arguments.threads);
  Json   notes = Json::array();
  if (!facts.bf16)
  {
    notes.push_back("no avx512_bf16 or amx_bf16 on this CPU: bfloat16 would be emulated, so it is not measured");
  }
  else
  {
    notes.push_back("bfloat16 forward rows (dtype bfloat16, ANU-Net only) are ours in bfloat16 against ours in "
                    "float32 (speedup_over_float32); the eager peer runs float32 only");
  }

  const auto convolution = benchmark::convolutionRate(
    arguments.threads, plan.policy, plan.convolutionBatch, plan.convolutionChannels, plan.convolutionSize);
  report.add("conv-peak",
             std::nullopt,
             std::nullopt,
             plan.convolutionSize,
             plan.convolutionBatch,
             "ours",
             convolution)["channels"] = plan.convolutionChannels;
  report.convolutionPeak = convolution.gflops();
  report.row(0)["peak_fraction"] = 1.0;
  // A BLAS rate, not a convolution: a fraction of the conv peak would read as an efficiency it is not.
  report.add("matmul",
             std::nullopt,
             std::nullopt,
             plan.matmulSize,
             1,
             "ours",
             benchmark::matmulRate(arguments.threads, plan.policy, plan.matmulSize))["peak_fraction"] = nullptr;

  std::vector<EagerTask> eager;
  std::optional<Model>   model;
  std::string            checkpoint;
  for (const auto & forward : plan.forwards)
  {
    if (!model || model->options().architecture != forward.architecture)
    {
      model = Model::create(networkOptions(forward.architecture, plan.filters), 0);
      model->setNumberOfThreads(arguments.threads);
      checkpoint = work / (toString(forward.architecture) + ".pt");
      if (forward.architecture == Architecture::ANUNet)
      {
        model->save(checkpoint);
      }
    }
    const size_t row = report.size();
    const auto   level = forward.level > 0 ? std::optional<int>(forward.level) : std::nullopt;
    const auto   single = benchmark::forwardRate(*model, forward.level, forward.size, forward.batch, plan.policy);
    report.add("forward", forward.architecture, level, forward.size, forward.batch, "ours", single);
    if (facts.bf16 && forward.architecture == Architecture::ANUNet)
    {
      const auto half =
        benchmark::forwardRate(*model, forward.level, forward.size, forward.batch, plan.policy, Precision::BFloat16);
      auto & added =
        report.add("forward", forward.architecture, level, forward.size, forward.batch, "ours", half, "bfloat16");
      added["speedup_over_float32"] = single.timing.minimumSeconds / half.timing.minimumSeconds;
    }
    if (forward.architecture == Architecture::ANUNet && forward.size <= plan.eagerMaximumSize)
    {
      // The input forwardRate ran on, for the peer.
      const std::string input =
        work / ("input-" + std::to_string(forward.size) + "-" + std::to_string(forward.batch) + ".f32");
      if (!fs::exists(input))
      {
        writeRaw(benchmark::syntheticImage(static_cast<int64_t>(forward.batch) * forward.size * forward.size, 1),
                 input);
      }
      eager.push_back({ Json{ { "kind", "forward" },
                              { "checkpoint", checkpoint },
                              { "level", forward.level },
                              { "size", forward.size },
                              { "batch", forward.batch },
                              { "input", input } },
                        row });
    }
  }
  if (plan.forwards.size() > 0 && std::any_of(plan.forwards.begin(), plan.forwards.end(), [](const auto & f) {
        return f.architecture != Architecture::ANUNet;
      }))
  {
    notes.push_back("the eager peer covers ANU-Net only (its Python wiring is test/itk/make_torchscript_reference.py)");
  }

  for (const auto & step : plan.training)
  {
    auto              trainee = Model::create(networkOptions(Architecture::ANUNet, step.filters), 0);
    const std::string stepCheckpoint = work / ("train-" + step.name + ".pt");
    trainee.save(stepCheckpoint); // before our steps change the weights
    const auto        image = benchmark::syntheticImage(static_cast<int64_t>(step.batch) * step.size * step.size, 2);
    const auto        labels = benchmark::syntheticLabels(step.batch, step.size);
    const std::string imagePath = work / ("train-" + step.name + ".f32");
    const std::string labelPath = work / ("train-" + step.name + ".u8");
    writeRaw(image, imagePath);
    writeRaw(labels, labelPath);
    const size_t row = report.size();
    report.add("training-step",
               Architecture::ANUNet,
               std::nullopt,
               step.size,
               step.batch,
               "ours",
               benchmark::trainingStepRate(
                 trainee, image, labels, step.size, step.batch, arguments.threads, plan.trainingPolicy))["filters"] =
      step.filters;
    eager.push_back({ Json{ { "kind", "training-step" },
                            { "checkpoint", stepCheckpoint },
                            { "size", step.size },
                            { "batch", step.batch },
                            { "image", imagePath },
                            { "labels", labelPath } },
                      row });
  }

  if (!plan.filterLevels.empty())
  {
    measureFilter(plan, arguments.threads, report);
  }
  measureSegmentMemory(plan, arguments.threads, arguments.python, work, report, notes);
  runEager(arguments, plan, eager, work, report, notes);

  const Json   machine = machineJson(facts, arguments.threads);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (arguments.json)
  {
    Json output;
    output["machine"] = machine;
    output["mode"] = arguments.smoke ? "smoke" : arguments.quick ? "quick" : "full";
    output["seconds"] = seconds;
    output["notes"] = notes;
    output["measurements"] = report.rows();
    std::cout << output.dump(2) << '\n';
  }
  else
  {
    printTable(machine, report, notes);
    std::printf("bench: %.0f s\n", seconds);
  }
}

} // namespace

void
addBenchCommand(CLI::App & app)
{
  auto       arguments = std::make_shared<BenchArguments>();
  CLI::App * command = app.add_subcommand(
    "bench",
    "Time our forward passes and training step against the machine's convolution peak and eager PyTorch "
    "(minimum and median of repeated runs after warm-up; run on an otherwise idle machine)");
  command->add_flag("--json", arguments->json, "Print one JSON document (machine facts, one object per measurement)");
  command->add_flag(
    "--quick", arguments->quick, "ANU-Net L1 and L4 at batch 1, L4 at batch 8, and the demo training step only");
  command->add_flag("--smoke",
                    arguments->smoke,
                    "Every measurement at a tiny size, to check that the command works (the times mean nothing)");
  command->add_option("--threads", arguments->threads, "LibTorch threads, ours and eager; 0 = all hardware threads")
    ->check(CLI::NonNegativeNumber)
    ->capture_default_str();
  command->add_flag("--no-eager", arguments->noEager, "Skip the eager-PyTorch peer");
  command->add_option("--python", arguments->python, "Python with Debian's python3-torch, for the eager peer")
    ->capture_default_str();
  command->add_option("--eager-script", arguments->eagerScript, "The eager peer (benchmarks/eager_bench.py)")
    ->capture_default_str();
  command->callback([arguments] {
    if (arguments->quick && arguments->smoke)
    {
      throw UsageError("--quick and --smoke are exclusive");
    }
    runBench(*arguments);
  });
}

} // namespace anunet::cli
