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
#include "Manifest.h"

#include "Commands.h"
#include "ImageSegmentation.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>

namespace anunet::cli
{
namespace
{

/** Segment options that are not per-case columns: one model at one setting for every case keeps a summary's
 * means comparable. A column of one of these names gets an error saying so rather than being ignored. */
const std::vector<std::string> sharedOptions = { "model",   "level", "threshold", "probability",      "mirror",
                                                 "threads", "batch", "device",    "largest_component" };

std::string
trim(const std::string & text)
{
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos)
  {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string
lowercase(std::string text)
{
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

/** One CSV line: commas separate, double quotes quote ("" is a quote inside), blanks around unquoted fields
 * are dropped. Returns an error message instead when the quoting is broken. */
std::optional<std::string>
splitRecord(const std::string & line, std::vector<std::string> & fields)
{
  fields.clear();
  size_t pos = 0;
  while (true)
  {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t'))
    {
      ++pos;
    }
    std::string field;
    if (pos < line.size() && line[pos] == '"')
    {
      ++pos;
      bool closed = false;
      while (pos < line.size())
      {
        if (line[pos] == '"')
        {
          if (pos + 1 < line.size() && line[pos + 1] == '"')
          {
            field += '"';
            pos += 2;
            continue;
          }
          closed = true;
          ++pos;
          break;
        }
        field += line[pos++];
      }
      if (!closed)
      {
        return std::string("a quoted field is not closed (quotes cannot span lines)");
      }
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t'))
      {
        ++pos;
      }
      if (pos < line.size() && line[pos] != ',')
      {
        return std::string("text after a closing quote; write a quote inside a quoted field as \"\"");
      }
    }
    else
    {
      const size_t comma = line.find(',', pos);
      field = trim(line.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      pos = comma == std::string::npos ? line.size() : comma;
    }
    fields.push_back(field);
    if (pos >= line.size())
    {
      return std::nullopt;
    }
    ++pos; // the comma
  }
}

/** "case32_t2" from ".../case32_t2.nii.gz", "DICOM_anon" from a folder; characters that cannot be in a file name
 * everywhere become '_'. */
std::string
caseIdFromImage(const std::string & image)
{
  std::filesystem::path path = std::filesystem::path(image).lexically_normal();
  if (!path.has_filename())
  {
    path = path.parent_path(); // a folder written with a trailing slash
  }
  std::filesystem::path name = path.filename();
  std::error_code       error;
  if (!std::filesystem::is_directory(path, error))
  {
    if (lowercase(name.extension().string()) == ".gz")
    {
      name = name.stem();
    }
    name = name.stem();
  }
  std::string id = name.string();
  for (char & c : id)
  {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
    {
      c = '_';
    }
  }
  if (id.empty() || id[0] == '.' || id[0] == '-')
  {
    id = "case" + id;
  }
  return id;
}

bool
isValidCaseId(const std::string & id)
{
  if (id.empty() || id[0] == '.' || id[0] == '-')
  {
    return false;
  }
  return std::all_of(
    id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '_' || c == '-'; });
}

std::string
resolve(const std::string & path, const std::filesystem::path & folder)
{
  const std::filesystem::path p(path);
  return (p.is_absolute() ? p : folder / p).lexically_normal().string();
}

bool
isDigits(const std::string & text)
{
  return !text.empty() && text.size() <= 9 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

} // namespace

const std::vector<std::string> &
manifestColumns()
{
  static const std::vector<std::string> columns = { "image", "truth", "case", "output", "series_uid" };
  return columns;
}

Manifest
readManifest(const std::string & path)
{
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
  {
    throw UsageError("--manifest '" + path + "' is a folder; give a CSV file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
  {
    throw UsageError("--manifest '" + path + "': cannot read it (" +
                     (std::filesystem::exists(path, error) ? "permission denied" : "no such file") + ")");
  }
  std::filesystem::path folder = std::filesystem::absolute(path, error).parent_path();
  return parseManifest(in, path, folder);
}

Manifest
parseManifest(std::istream & in, const std::string & name, const std::filesystem::path & folder)
{
  const auto fail = [&name](size_t line, const std::string & problem) {
    throw UsageError("manifest " + name + (line > 0 ? " line " + std::to_string(line) : "") + ": " + problem);
  };
  Manifest manifest;
  manifest.path = name;

  std::map<std::string, size_t> column; // lower-case name -> field index
  size_t                        headerFields = 0;
  std::map<std::string, size_t> lineOfId;
  std::map<std::string, size_t> lineOfOutput;
  std::vector<std::string>      fields;
  std::string                   text;
  for (size_t line = 1; std::getline(in, text); ++line)
  {
    if (line == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0)
    {
      text.erase(0, 3); // a byte-order mark, as spreadsheets save UTF-8 CSV
    }
    if (!text.empty() && text.back() == '\r')
    {
      text.pop_back();
    }
    const std::string stripped = trim(text);
    if (stripped.empty() || stripped[0] == '#')
    {
      continue;
    }
    if (const auto problem = splitRecord(text, fields))
    {
      fail(line, *problem);
    }

    if (column.empty())
    {
      headerFields = fields.size();
      for (size_t i = 0; i < fields.size(); ++i)
      {
        const std::string key = lowercase(fields[i]);
        if (key.empty())
        {
          fail(line, "column " + std::to_string(i + 1) + " of the header has no name");
        }
        if (column.count(key) > 0)
        {
          fail(line, "the header names the column '" + key + "' twice");
        }
        if (std::find(sharedOptions.begin(), sharedOptions.end(), key) != sharedOptions.end())
        {
          fail(line,
               "the column '" + key + "' is not read per case: the model and its options (--" + key +
                 ", ...) are given on the command line and apply to every case");
        }
        const auto & known = manifestColumns();
        if (std::find(known.begin(), known.end(), key) == known.end())
        {
          fail(line,
               "unknown column '" + fields[i] +
                 "'; the columns are image (required), truth, case, output "
                 "and series_uid");
        }
        column[key] = i;
      }
      if (column.count("image") == 0)
      {
        fail(line,
             "the header has no 'image' column (the first line that is not blank or a # comment is the "
             "header, e.g. \"case,image,truth\")");
      }
      continue;
    }

    if (fields.size() != headerFields)
    {
      fail(line,
           std::to_string(fields.size()) + " field" + (fields.size() == 1 ? "" : "s") + ", but the header has " +
             std::to_string(headerFields) + " columns");
    }
    const auto field = [&](const std::string & key) {
      const auto found = column.find(key);
      return found == column.end() ? std::string() : fields[found->second];
    };
    ManifestCase c;
    c.index = manifest.cases.size();
    c.line = line;
    if (field("image").empty())
    {
      fail(line, "the image is empty");
    }
    c.image = resolve(field("image"), folder);
    if (!field("truth").empty())
    {
      c.truth = resolve(field("truth"), folder);
    }
    c.seriesUid = field("series_uid");

    c.id = field("case");
    if (c.id.empty())
    {
      c.id = caseIdFromImage(c.image);
    }
    else if (!isValidCaseId(c.id))
    {
      fail(line,
           "case '" + c.id +
             "': a case id names files, so it may hold letters, digits, '.', '_' and '-' "
             "and cannot start with '.' or '-'");
    }
    if (const auto earlier = lineOfId.find(c.id); earlier != lineOfId.end())
    {
      fail(0,
           "lines " + std::to_string(earlier->second) + " and " + std::to_string(line) + " have the same case id '" +
             c.id + "'" + (field("case").empty() ? " (taken from the image names; give a 'case' column)" : ""));
    }
    lineOfId[c.id] = line;

    const std::string           output = field("output").empty() ? c.id + ".nii.gz" : field("output");
    const std::filesystem::path outputPath = std::filesystem::path(output).lexically_normal();
    if (outputPath.is_absolute())
    {
      fail(line, "output '" + output + "' is absolute; outputs are relative to --output-dir");
    }
    if (!outputPath.has_filename() || *outputPath.begin() == ".." || outputPath == ".")
    {
      fail(line, "output '" + output + "' is not a file inside --output-dir");
    }
    if (*outputPath.begin() == "results" || outputPath == "summary.csv" || outputPath == "summary.json")
    {
      fail(line, "output '" + output + "': results/, summary.csv and summary.json of --output-dir are the run's own");
    }
    requireSingleFileFormat(output, "manifest " + name + " line " + std::to_string(line) + ": output '" + output + "'");
    c.output = outputPath.string();
    if (const auto earlier = lineOfOutput.find(c.output); earlier != lineOfOutput.end())
    {
      fail(0,
           "lines " + std::to_string(earlier->second) + " and " + std::to_string(line) + " both write the output '" +
             c.output + "'");
    }
    lineOfOutput[c.output] = line;
    manifest.cases.push_back(std::move(c));
  }
  if (in.bad())
  {
    fail(0, "reading failed");
  }
  if (column.empty())
  {
    fail(0,
         "the file is empty; a manifest is a CSV file with a header row naming its columns (image, and "
         "optionally truth, case, output, series_uid) and one row per case");
  }
  if (manifest.cases.empty())
  {
    fail(0, "the header has no cases below it");
  }
  return manifest;
}

std::string
Shard::text() const
{
  return std::to_string(index) + "/" + std::to_string(count);
}

std::string
Shard::fileStem() const
{
  return "shard-" + std::to_string(index) + "-of-" + std::to_string(count);
}

Shard
parseShard(const std::string & text)
{
  const auto        slash = text.find('/');
  const std::string index = slash == std::string::npos ? text : text.substr(0, slash);
  const std::string count = slash == std::string::npos ? std::string() : text.substr(slash + 1);
  if (!isDigits(index) || !isDigits(count))
  {
    throw UsageError("--shard '" + text +
                     "': expected i/N with whole numbers 0 <= i < N, e.g. 0/4 for the first of "
                     "four shards (in a Slurm array: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with --array=0-3)");
  }
  Shard shard;
  try
  {
    shard.index = std::stoul(index);
    shard.count = std::stoul(count);
  }
  catch (const std::out_of_range &)
  {
    // Digits that do not fit an unsigned long: std::out_of_range, which the tool would report as an internal
    // error (fuzz/regressions/manifest/shard-out-of-range.csv).
    throw UsageError("--shard '" + text + "': the numbers are too large");
  }
  if (shard.count == 0)
  {
    throw UsageError("--shard '" + text + "': the number of shards must be at least 1");
  }
  if (shard.index >= shard.count)
  {
    throw UsageError("--shard '" + text + "': the shard index must be 0.." + std::to_string(shard.count - 1) +
                     "; shards are numbered from 0, as the tasks of sbatch --array=0-" +
                     std::to_string(shard.count - 1) + " are");
  }
  return shard;
}

} // namespace anunet::cli
