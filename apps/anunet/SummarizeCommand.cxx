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
// `anunet summarize DIR`: the records every shard of `anunet segment --manifest` left in DIR/results, merged
// into DIR/summary.csv and DIR/summary.json (docs/reference.md §9).
#include "BatchSegmentation.h"
#include "Commands.h"
#include "OutputFiles.h"
#include "Progress.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

namespace anunet::cli
{
namespace
{

/** The measures a summary lists per class; hd95_mm has no mean (one empty mask makes it infinite). */
const std::vector<std::string> listedMeasures = { "dice", "iou", "precision", "recall", "hd95_mm" };
const std::vector<std::string> averagedMeasures = { "dice", "iou", "precision", "recall" };

std::optional<nlohmann::json>
readJson(const std::filesystem::path & path)
{
  std::ifstream  in(path);
  nlohmann::json value = nlohmann::json::parse(in, nullptr, false);
  if (!in.is_open() || value.is_discarded() || !value.is_object())
  {
    return std::nullopt;
  }
  return value;
}

std::string
csvField(const std::string & text)
{
  if (text.find_first_of(",\"\n\r") == std::string::npos &&
      (text.empty() || (text.front() != ' ' && text.back() != ' ')))
  {
    return text;
  }
  std::string quoted = "\"";
  for (const char c : text)
  {
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return quoted + "\"";
}

std::string
csvNumber(const nlohmann::json & value, int significant = 6)
{
  if (!value.is_number())
  {
    return {}; // absent, or null for an infinite distance
  }
  std::ostringstream text;
  text << std::setprecision(significant) << value.get<double>();
  return text.str();
}

struct Mean
{
  double sum = 0.0;
  size_t count = 0;

  void
  add(const nlohmann::json & value)
  {
    if (value.is_number() && std::isfinite(value.get<double>()))
    {
      sum += value.get<double>();
      ++count;
    }
  }

  nlohmann::json
  value() const
  {
    return count > 0 ? nlohmann::json(sum / static_cast<double>(count)) : nlohmann::json();
  }
};

void
summarize(const std::string & folder)
{
  const std::filesystem::path dir(folder);
  const std::filesystem::path results = resultsFolder(dir);
  std::error_code             error;
  if (!std::filesystem::is_directory(results, error))
  {
    throw UsageError("'" + folder + "' has no results/ folder: give the --output-dir of `anunet segment --manifest`");
  }

  // Which cases there should be: every shard recorded the manifest's whole list when it started.
  std::vector<std::string>           expected;
  std::vector<std::string>           shardFiles;
  std::vector<std::string>           problems;
  std::map<std::string, std::string> shardOfCase; // what became of the shard that took a case, for missing ones
  for (const auto & entry : std::filesystem::directory_iterator(results, error))
  {
    const std::string name = entry.path().filename().string();
    if (name.rfind("shard-", 0) == 0 && entry.path().extension() == ".json")
    {
      shardFiles.push_back(entry.path().string());
    }
  }
  std::sort(shardFiles.begin(), shardFiles.end());
  for (const auto & file : shardFiles)
  {
    const auto shard = readJson(file);
    if (!shard || !shard->contains("cases") || !(*shard)["cases"].is_array())
    {
      problems.push_back(file + " is not a shard record");
      continue;
    }
    const std::string state =
      "shard " + shard->value("shard", std::string("?")) + " started " + shard->value("started", std::string("?")) +
      " on " + shard->value("host", std::string("?")) +
      (shard->value("finished", nlohmann::json()).is_null() ? " and has not finished: it is running or was stopped"
                                                            : " and finished");
    for (const auto & id : shard->value("shard_cases", nlohmann::json::array()))
    {
      if (id.is_string())
      {
        shardOfCase[id.get<std::string>()] = state;
      }
    }
    for (const auto & id : (*shard)["cases"])
    {
      if (id.is_string() && std::find(expected.begin(), expected.end(), id.get<std::string>()) == expected.end())
      {
        expected.push_back(id.get<std::string>());
      }
    }
  }

  // Temporary files start with '.', so a record being written (or left by a killed run) is never read.
  std::map<std::string, nlohmann::json> records;
  for (const auto & entry : std::filesystem::directory_iterator(results / "cases", error))
  {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || entry.path().extension() != ".json")
    {
      continue;
    }
    const auto record = readJson(entry.path());
    if (!record || !record->contains("case") || !(*record)["case"].is_string() || !record->contains("status"))
    {
      problems.push_back(entry.path().string() + " is not a case record");
      continue;
    }
    records[(*record)["case"].get<std::string>()] = *record;
  }
  if (shardFiles.empty() && records.empty())
  {
    throw UsageError("'" + folder + "' holds no records of `anunet segment --manifest` (" + results.string() +
                     " has no shard-*.json and no cases/*.json)");
  }
  std::vector<std::pair<size_t, std::string>> unlisted; // records of cases no shard listed, in manifest order
  for (const auto & [id, record] : records)
  {
    if (std::find(expected.begin(), expected.end(), id) == expected.end())
    {
      unlisted.emplace_back(record.value("index", size_t(0)), id);
    }
  }
  std::sort(unlisted.begin(), unlisted.end());
  for (const auto & entry : unlisted)
  {
    expected.push_back(entry.second);
  }

  // Class names in the order the records give them: one class gives plain "dice", several "<name>_dice".
  std::vector<std::string> classNames;
  for (const auto & [id, record] : records)
  {
    for (const auto & entry : record.value("classes", nlohmann::json::array()))
    {
      const std::string name = entry.value("name", "class" + std::to_string(entry.value("class", 0)));
      if (std::find(classNames.begin(), classNames.end(), name) == classNames.end())
      {
        classNames.push_back(name);
      }
    }
  }
  const auto column = [&classNames](const std::string & name, const std::string & measure) {
    return classNames.size() == 1 ? measure : name + "_" + measure;
  };

  std::ostringstream csv;
  csv << "case,status,seconds";
  for (const auto & name : classNames)
  {
    for (const auto & measure : listedMeasures)
    {
      csv << ',' << csvField(column(name, measure));
    }
  }
  csv << ",output,message\n";

  nlohmann::json                                     cases = nlohmann::json::array();
  std::map<std::string, std::map<std::string, Mean>> means; // class -> measure -> mean
  Mean                                               seconds;
  size_t                                             ok = 0, failed = 0, missing = 0, scored = 0;
  std::vector<std::string>                           notOk;
  for (const auto & id : expected)
  {
    const auto found = records.find(id);
    if (found == records.end())
    {
      ++missing;
      const auto shard = shardOfCase.find(id);
      notOk.push_back(id + " missing (no record; " +
                      (shard == shardOfCase.end() ? std::string("no shard that takes it has started") : shard->second) +
                      ")");
      cases.push_back({ { "case", id }, { "status", "missing" } });
      csv << csvField(id) << ",missing,";
      for (size_t i = 0; i < classNames.size() * listedMeasures.size(); ++i)
      {
        csv << ',';
      }
      csv << ",,\n";
      continue;
    }
    const nlohmann::json &                record = found->second;
    const std::string                     status = record.value("status", "");
    std::map<std::string, nlohmann::json> byClass;
    for (const auto & entry : record.value("classes", nlohmann::json::array()))
    {
      byClass[entry.value("name", "class" + std::to_string(entry.value("class", 0)))] = entry;
    }
    if (status == "ok")
    {
      ++ok;
      seconds.add(record.value("seconds", nlohmann::json()));
      scored += byClass.empty() ? 0 : 1;
      for (const auto & [name, entry] : byClass)
      {
        for (const auto & measure : averagedMeasures)
        {
          means[name][measure].add(entry.value(measure, nlohmann::json()));
        }
      }
    }
    else
    {
      ++failed;
      notOk.push_back(id + " " + status + " (" + record.value("message", std::string("no message")) + ")");
    }
    nlohmann::json summary = { { "case", id }, { "status", status } };
    for (const auto * key : { "seconds", "message", "input", "labelled_voxels", "classes", "shard", "host" })
    {
      if (record.contains(key))
      {
        summary[key] = record[key];
      }
    }
    const std::string output = record.value("request", nlohmann::json::object()).value("output", "");
    summary["output"] = output;
    cases.push_back(std::move(summary));

    csv << csvField(id) << ',' << csvField(status) << ',' << csvNumber(record.value("seconds", nlohmann::json()), 4);
    for (const auto & name : classNames)
    {
      const auto entry = byClass.find(name);
      for (const auto & measure : listedMeasures)
      {
        csv << ','
            << (entry == byClass.end() ? std::string() : csvNumber(entry->second.value(measure, nlohmann::json())));
      }
    }
    csv << ',' << csvField(output) << ',' << csvField(record.value("message", "")) << '\n';
  }

  // The mean row's case is not a valid case id, so it cannot be mistaken for one.
  nlohmann::json meanClasses = nlohmann::json::array();
  csv << "(mean),mean," << csvNumber(seconds.value(), 4);
  for (const auto & name : classNames)
  {
    nlohmann::json entry = { { "name", name } };
    for (const auto & measure : listedMeasures)
    {
      const bool averaged =
        std::find(averagedMeasures.begin(), averagedMeasures.end(), measure) != averagedMeasures.end();
      const nlohmann::json value = averaged ? means[name][measure].value() : nlohmann::json();
      csv << ',' << csvNumber(value);
      if (averaged)
      {
        entry[measure] = value;
      }
    }
    meanClasses.push_back(std::move(entry));
  }
  csv << ",,"
      << csvField("means over the cases with status ok: " + std::to_string(seconds.count) + " for the seconds, " +
                  std::to_string(scored) + " with a ground truth for the measures")
      << '\n';

  nlohmann::json mean = { { "cases", scored }, { "seconds", seconds.value() }, { "classes", meanClasses } };
  if (classNames.size() == 1)
  {
    // One class: its means at the top level too, as `anunet evaluate --json` does for one label.
    for (const auto & measure : averagedMeasures)
    {
      mean[measure] = meanClasses[0][measure];
    }
  }
  const nlohmann::json json = {
    { "folder", dir.string() },
    { "counts", { { "cases", expected.size() }, { "ok", ok }, { "failed", failed }, { "missing", missing } } },
    { "mean", mean },
    { "cases", cases }
  };
  writeTextFile(csv.str(), (dir / "summary.csv").string());
  writeTextFile(json.dump(2) + "\n", (dir / "summary.json").string());

  std::cout << "summarize: " << expected.size() << " cases: " << ok << " ok, " << failed << " failed, " << missing
            << " missing";
  for (const auto & name : classNames)
  {
    const nlohmann::json dice = means[name]["dice"].value();
    if (dice.is_number())
    {
      std::cout << "; mean " << (classNames.size() > 1 ? name + " " : std::string()) << "Dice "
                << formatNumber(dice.get<double>(), 4) << " over " << means[name]["dice"].count;
    }
  }
  std::cout << " -> " << (dir / "summary.csv").string() << ", " << (dir / "summary.json").string() << '\n';
  for (const auto & problem : problems)
  {
    std::cerr << "anunet summarize: warning: " << problem << " (ignored)\n";
  }
  if (!notOk.empty())
  {
    std::string text = std::to_string(notOk.size()) + " of " + std::to_string(expected.size()) + " cases are not ok:";
    for (const auto & line : notOk)
    {
      text += "\n  " + line;
    }
    throw std::runtime_error(text);
  }
}

} // namespace

void
addSummarizeCommand(CLI::App & app)
{
  auto       folder = std::make_shared<std::string>();
  CLI::App * cmd = app.add_subcommand(
    "summarize",
    "Merge the records of every shard of `anunet segment --manifest` in DIR into DIR/summary.csv and "
    "DIR/summary.json (status, seconds and, with ground truth, Dice, IoU, precision, recall per case; their "
    "mean). Exits with status 1 when a case failed or has no record");
  cmd->add_option("DIR", *folder, "The --output-dir of `anunet segment --manifest`")->required();
  cmd->callback([folder]() { summarize(*folder); });
}

} // namespace anunet::cli
