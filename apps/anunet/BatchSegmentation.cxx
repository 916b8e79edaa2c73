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
#include "BatchSegmentation.h"

#include "Commands.h"
#include "ImageSegmentation.h"
#include "LevelEvaluation.h"
#include "MetricsJson.h"
#include "OutputFiles.h"
#include "Progress.h"

#include "itkANUNetImageReader.h"
#include "itkImageIOFactory.h"
#include "itkANUNetSegmentationMetricsImageFilter.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <optional>
#include <set>
#include <iostream>
#include <sstream>
#include <type_traits>

namespace anunet::cli
{

std::filesystem::path
resultsFolder(const std::filesystem::path & outputDir)
{
  return outputDir / "results";
}

std::filesystem::path
caseRecordPath(const std::filesystem::path & outputDir, const std::string & caseId)
{
  return resultsFolder(outputDir) / "cases" / (caseId + ".json");
}

std::filesystem::path
shardRecordPath(const std::filesystem::path & outputDir, const Shard & shard)
{
  return resultsFolder(outputDir) / (shard.fileStem() + ".json");
}

namespace
{

using Clock = std::chrono::steady_clock;

std::string
utcNow()
{
  const std::time_t  now = std::time(nullptr);
  std::tm            utc{};
  std::ostringstream text;
  gmtime_r(&now, &utc);
  text << std::put_time(&utc, "%Y-%m-%dT%H:%M:%SZ");
  return text.str();
}

std::string
hostName()
{
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 ? std::string(name) : std::string();
}

std::optional<nlohmann::json>
readJsonFile(const std::filesystem::path & path)
{
  std::ifstream in(path);
  if (!in)
  {
    return std::nullopt;
  }
  nlohmann::json value = nlohmann::json::parse(in, nullptr, false);
  if (value.is_discarded() || !value.is_object())
  {
    return std::nullopt;
  }
  return value;
}

double
secondsSince(Clock::time_point start)
{
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/** What decides a case's result: when an earlier record asked for the same, its output can be kept. The
 * model is named by its path, size and time of change, so that a model retrained in place is not mistaken for
 * the old one. */
nlohmann::json
requestOf(const ManifestCase & c, const BatchArguments & args, const itk::ANUNetModel * model)
{
  std::error_code             error;
  const std::filesystem::path modelPath = std::filesystem::canonical(args.model, error);
  const auto                  bytes = std::filesystem::file_size(modelPath, error);
  const auto                  changed = std::filesystem::last_write_time(modelPath, error);
  const auto &                s = args.settings;
  return { { "image", c.image },
           { "truth", c.truth },
           { "series_uid", c.seriesUid },
           { "output", c.output },
           { "model", modelPath.string() },
           { "model_bytes", static_cast<uint64_t>(bytes) },
           { "model_changed", static_cast<int64_t>(changed.time_since_epoch().count()) },
           { "level", s.level >= 0 ? s.level : model->GetModel().levelChoice().level },
           { "probability", s.probability },
           { "threshold", s.threshold },
           { "mirror", s.mirror },
           { "largest_component", s.largestComponents } };
}

void
requireReadable(const std::string & path, const std::string & what)
{
  std::error_code error;
  if (!std::filesystem::exists(path, error))
  {
    throw std::runtime_error("cannot read the " + what + " '" + path + "': no such file or folder");
  }
}

template <unsigned int VDimension>
typename itk::Image<float, VDimension>::Pointer
readImage(const std::string & path, const std::string & seriesUid)
{
  if constexpr (VDimension == 2)
  {
    return itk::ANUNetImageReader::ReadSlice(path);
  }
  else
  {
    return itk::ANUNetImageReader::ReadVolume(path, seriesUid);
  }
}

std::vector<double>
spacingOf(const itk::ImageBase<2> * image)
{
  return { image->GetSpacing()[0], image->GetSpacing()[1] };
}

std::vector<double>
spacingOf(const itk::ImageBase<3> * image)
{
  return { image->GetSpacing()[0], image->GetSpacing()[1], image->GetSpacing()[2] };
}

/** Reads, segments, writes and (with a ground truth) scores one case; fills record and the log line's middle. */
template <unsigned int VDimension, typename TOutputPixel>
void
segmentCase(const ManifestCase &          c,
            const std::filesystem::path & outputFile,
            const BatchArguments &        args,
            const itk::ANUNetModel *      model,
            nlohmann::json &              record,
            std::string &                 log)
{
  using OutputImageType = itk::Image<TOutputPixel, VDimension>;
  // A volume in a file is streamed: only its header is read here, the network pulls slabs later.
  InputVolume                                     volume;
  typename itk::Image<float, VDimension>::Pointer image;
  if constexpr (VDimension == 3)
  {
    volume = InputVolume::open(c.image, c.seriesUid);
    image = volume.image;
  }
  else
  {
    image = readImage<VDimension>(c.image, c.seriesUid);
  }
  const auto size = image->GetLargestPossibleRegion().GetSize();
  record["input"] = { { "size", std::vector<itk::SizeValueType>(size.begin(), size.end()) },
                      { "spacing", spacingOf(image) } };
  log = "read " + c.image + " (" + describeImage(image.GetPointer()) + ")";

  // The ground truth before the network, so that an unreadable one fails the case in seconds, not minutes.
  const bool                                              score = !c.truth.empty() && !args.settings.probability;
  typename itk::Image<unsigned char, VDimension>::Pointer truth;
  if (score)
  {
    requireReadable(c.truth, "ground truth");
    truth = mapLabelImage<VDimension>(
      readImage<VDimension>(c.truth, {}).GetPointer(), model->GetModel().preprocessing().labels, c.truth);
  }

  const auto output = [&] {
    if constexpr (VDimension == 3)
    {
      return segmentVolume<OutputImageType>(volume, model, args.settings);
    }
    else
    {
      return runSegmentation<OutputImageType>(image.GetPointer(), model, args.settings);
    }
  }();
  std::error_code error;
  std::filesystem::create_directories(outputFile.parent_path(), error);
  writeImageFile(output.GetPointer(), outputFile.string());
  log += " -> " + outputFile.string();
  if constexpr (std::is_same_v<TOutputPixel, unsigned char>)
  {
    const size_t labelled = countLabelled(output.GetPointer());
    record["labelled_voxels"] = labelled;
    log += " (" + std::to_string(labelled) + " labelled voxels)";
    if (!score)
    {
      return;
    }
    const auto &   mapping = model->GetModel().preprocessing().labels;
    nlohmann::json classes = nlohmann::json::array();
    for (size_t k = 1; k <= mapping.classes.size(); ++k)
    {
      auto metrics = itk::ANUNetSegmentationMetricsImageFilter<OutputImageType>::New();
      metrics->SetPredictionImage(output);
      metrics->SetGroundTruthImage(truth);
      metrics->SetLabel(static_cast<TOutputPixel>(k));
      metrics->Update();
      const auto &   measured = metrics->GetMetrics(static_cast<TOutputPixel>(k));
      nlohmann::json entry = { { "class", k }, { "name", mapping.names[k - 1] } };
      entry.update(metricsToJson(measured));
      log += ", " + (mapping.classes.size() > 1 ? mapping.names[k - 1] + " " : std::string()) + "Dice " +
             formatNumber(measured.Dice, 4);
      classes.push_back(std::move(entry));
    }
    record["classes"] = std::move(classes);
  }
}

template <unsigned int VDimension>
void
segmentCaseOfDimension(const ManifestCase &          c,
                       const std::filesystem::path & outputFile,
                       const BatchArguments &        args,
                       const itk::ANUNetModel *      model,
                       nlohmann::json &              record,
                       std::string &                 log)
{
  if (args.settings.probability)
  {
    segmentCase<VDimension, float>(c, outputFile, args, model, record, log);
  }
  else
  {
    segmentCase<VDimension, unsigned char>(c, outputFile, args, model, record, log);
  }
}

/** The manifest's outputs must be writable by some ITK ImageIO: found before hours of work, not after. */
void
requireWritableFormats(const Manifest & manifest)
{
  for (const auto & c : manifest.cases)
  {
    if (!itk::ImageIOFactory::CreateImageIO(c.output.c_str(), itk::ImageIOFactory::FileModeEnum::WriteMode))
    {
      throw UsageError("manifest " + manifest.path + " line " + std::to_string(c.line) + ": output '" + c.output +
                       "': no ITK image writer knows this file extension; use .nii.gz, .nrrd or .mha");
    }
  }
}

/** Refuses an output folder whose earlier shards were given another list of cases: their records would mix
 * with this manifest's in one summary. */
void
requireSameCaseList(const std::filesystem::path & outputDir, const nlohmann::json & ids)
{
  std::error_code error;
  for (const auto & entry : std::filesystem::directory_iterator(resultsFolder(outputDir), error))
  {
    const std::string name = entry.path().filename().string();
    if (name.rfind("shard-", 0) != 0 || entry.path().extension() != ".json")
    {
      continue;
    }
    const auto earlier = readJsonFile(entry.path());
    if (earlier && earlier->contains("cases") && (*earlier)["cases"] != ids)
    {
      throw UsageError("--output-dir " + outputDir.string() + " holds the results of another manifest (" +
                       entry.path().string() + " lists other cases); use a new --output-dir, or remove " +
                       resultsFolder(outputDir).string() + " to start again");
    }
  }
}

} // namespace

void
runBatchSegmentation(const BatchArguments & args)
{
  const auto   start = Clock::now();
  const Shard  shard = parseShard(args.shard);
  const auto   manifest = readManifest(args.manifest);
  const auto & settings = args.settings;
  if (settings.largestComponents && settings.probability)
  {
    throw UsageError("--largest-component applies to labels; it cannot be combined with --probability");
  }
  requireWritableFormats(manifest);
  const std::filesystem::path dir(args.outputDir);
  std::error_code             error;
  std::filesystem::create_directories(caseRecordPath(dir, "x").parent_path(), error);
  if (error)
  {
    throw UsageError("--output-dir '" + args.outputDir + "': cannot create " +
                     caseRecordPath(dir, "x").parent_path().string() + ": " + error.message());
  }
  nlohmann::json                  ids = nlohmann::json::array();
  nlohmann::json                  mine = nlohmann::json::array();
  std::set<std::filesystem::path> folders{ dir, caseRecordPath(dir, "x").parent_path() };
  for (const auto & c : manifest.cases)
  {
    ids.push_back(c.id);
    if (shard.contains(c))
    {
      mine.push_back(c.id);
      folders.insert((dir / c.output).parent_path());
    }
  }
  // What an earlier run of this shard left when it was killed mid-write; a live shard's files stay.
  for (const auto & folder : folders)
  {
    removeStaleTemporaryFiles(folder.string());
  }
  requireSameCaseList(dir, ids);

  itk::ANUNetModel::Pointer model;
  try
  {
    model = loadSegmentationModel(args.model, settings);
  }
  catch (const itk::ExceptionObject & e)
  {
    throw std::runtime_error(e.GetDescription());
  }
  if (settings.probability)
  {
    std::cout << "segment: --probability writes probabilities; the truth column is not scored\n";
  }

  std::error_code ignored;
  nlohmann::json  shardRecord = { { "manifest", std::filesystem::absolute(args.manifest, ignored).string() },
                                  { "shard", shard.text() },
                                  { "host", hostName() },
                                  { "started", utcNow() },
                                  { "finished", nullptr },
                                  { "cases", ids },
                                  { "shard_cases", mine } };
  writeTextFile(shardRecord.dump(2) + "\n", shardRecordPath(dir, shard).string());
  std::cout << "segment: " << manifest.path << ": shard " << shard.text() << " takes " << mine.size() << " of "
            << manifest.cases.size() << " cases; outputs in " << dir.string() << std::endl;

  size_t                   done = 0, skipped = 0, position = 0;
  std::vector<std::string> failures;
  for (const auto & c : manifest.cases)
  {
    if (!shard.contains(c))
    {
      continue;
    }
    ++position;
    const std::string prefix = c.id + " (" + std::to_string(position) + "/" + std::to_string(mine.size()) + "): ";
    const std::filesystem::path outputFile = dir / c.output;
    const std::filesystem::path recordFile = caseRecordPath(dir, c.id);
    const nlohmann::json        request = requestOf(c, args, model);

    // Both names appear only once their files are complete (temporary files, renamed), so together they mean
    // the case is done; a record without its output (deleted since) or from other settings is done again.
    const auto earlier = readJsonFile(recordFile);
    if (earlier && earlier->value("status", "") == "ok" && earlier->value("request", nlohmann::json()) == request &&
        std::filesystem::is_regular_file(outputFile, ignored))
    {
      ++skipped;
      std::cout << prefix << "skipped: finished earlier (" << outputFile.string() << ")" << std::endl;
      continue;
    }

    const auto     caseStart = Clock::now();
    nlohmann::json record = { { "case", c.id },          { "index", c.index },   { "line", c.line },
                              { "shard", shard.text() }, { "host", hostName() }, { "request", request } };
    std::string    log;
    try
    {
      requireReadable(c.image, "image");
      if (!c.seriesUid.empty() && !itk::ANUNetImageReader::IsDirectory(c.image))
      {
        throw std::runtime_error("series_uid selects a series of a DICOM folder, but '" + c.image + "' is a file");
      }
      if (itk::ANUNetImageReader::ReadDimension(c.image) == 2)
      {
        segmentCaseOfDimension<2>(c, outputFile, args, model, record, log);
      }
      else
      {
        segmentCaseOfDimension<3>(c, outputFile, args, model, record, log);
      }
      record["status"] = "ok";
    }
    catch (const itk::ExceptionObject & e)
    {
      record["status"] = "failed";
      record["message"] = e.GetDescription();
    }
    catch (const std::exception & e)
    {
      record["status"] = "failed";
      record["message"] = e.what();
    }
    const double seconds = secondsSince(caseStart);
    record["seconds"] = seconds;
    record["finished"] = utcNow();
    if (record["status"] == "ok")
    {
      ++done;
      std::cout << prefix << log << "; " << formatNumber(seconds, 1) << " s" << std::endl;
    }
    else
    {
      const std::string message = record["message"];
      failures.push_back(c.id + ": " + message);
      std::cout << prefix << "FAILED after " << formatNumber(seconds, 1) << " s: " << message << std::endl;
    }
    writeTextFile(record.dump(2) + "\n", recordFile.string());
  }

  shardRecord["finished"] = utcNow();
  shardRecord["counts"] = { { "segmented", done }, { "skipped", skipped }, { "failed", failures.size() } };
  writeTextFile(shardRecord.dump(2) + "\n", shardRecordPath(dir, shard).string());
  std::cout << "segment: shard " << shard.text() << ": " << done << " segmented, " << skipped
            << " skipped (finished earlier), " << failures.size() << " failed; " << formatNumber(secondsSince(start), 1)
            << " s" << std::endl;
  if (!failures.empty())
  {
    std::string text = std::to_string(failures.size()) + " of " + std::to_string(mine.size()) + " cases of shard " +
                       shard.text() + " failed (records in " + caseRecordPath(dir, "x").parent_path().string() + ")";
    for (const auto & failure : failures)
    {
      text += "\n  " + failure;
    }
    throw std::runtime_error(text);
  }
}

} // namespace anunet::cli
