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
// The compiled half of `import anunet`: NumPy arrays in, NumPy arrays out, through the same ITK filters as
// the C++ pipelines and the command-line tool. anunet/__init__.py wraps it in the user-facing API.
//
// Arrays are indexed [z, y, x] (slowest axis first, as itk.GetArrayFromImage); spacing and origin are in
// ITK's (x, y, z) order and the direction is a row-major 3 x 3 matrix.
#include "MetricsJson.h"
#include "OutputFiles.h"
#include "Segmentation.h"
#include "TrainingConfig.h"
#include "InputError.h"
#include "TrainingRun.h"

#include "itkANUNetImageReader.h"
#include "itkANUNetModel.h"
#include "itkProcessObject.h"
#include "itkANUNetSegmentationMetricsImageFilter.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <memory>

namespace py = pybind11;

namespace
{

using VolumeType = itk::Image<float, 3>;
using MaskType = itk::Image<unsigned char, 3>;
using Vector3 = std::array<double, 3>;
using Matrix3 = std::array<double, 9>;

/** The model as Python holds it (an ITK smart pointer has no get(), which pybind11 holders need). */
struct PyModel
{
  itk::ANUNetModel::Pointer model;

  const anunet::Model &
  get() const
  {
    return model->GetModel();
  }
};

/** Geometry as the Python side passes it around. */
struct Geometry
{
  Vector3 spacing{ 1, 1, 1 };
  Vector3 origin{ 0, 0, 0 };
  Matrix3 direction{ 1, 0, 0, 0, 1, 0, 0, 0, 1 };
};

template <typename TImage>
Geometry
geometryOf(const TImage * image)
{
  Geometry g;
  for (unsigned int i = 0; i < 3; ++i)
  {
    g.spacing[i] = image->GetSpacing()[i];
    g.origin[i] = image->GetOrigin()[i];
    for (unsigned int j = 0; j < 3; ++j)
    {
      g.direction[3 * i + j] = image->GetDirection()(i, j);
    }
  }
  return g;
}

/** An ITK image holding a copy of a C-contiguous [z, y, x] array (2-D arrays become one slice). */
template <typename TPixel>
typename itk::Image<TPixel, 3>::Pointer
toItk(const py::array_t<TPixel, py::array::c_style | py::array::forcecast> & array, const Geometry & g)
{
  if (array.ndim() != 3 && array.ndim() != 2)
  {
    throw py::value_error("expected a 2-D or 3-D array, got " + std::to_string(array.ndim()) + " dimensions");
  }
  using ImageType = itk::Image<TPixel, 3>;
  typename ImageType::SizeType size;
  size[0] = static_cast<itk::SizeValueType>(array.shape(array.ndim() - 1));
  size[1] = static_cast<itk::SizeValueType>(array.shape(array.ndim() - 2));
  size[2] = array.ndim() == 3 ? static_cast<itk::SizeValueType>(array.shape(0)) : 1;
  auto image = ImageType::New();
  image->SetRegions(size);
  typename ImageType::SpacingType   spacing;
  typename ImageType::PointType     origin;
  typename ImageType::DirectionType direction;
  for (unsigned int i = 0; i < 3; ++i)
  {
    spacing[i] = g.spacing[i];
    origin[i] = g.origin[i];
    for (unsigned int j = 0; j < 3; ++j)
    {
      direction(i, j) = g.direction[3 * i + j];
    }
  }
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  std::memcpy(image->GetBufferPointer(), array.data(), sizeof(TPixel) * static_cast<size_t>(array.size()));
  return image;
}

template <typename TImage>
py::array
toNumPy(const TImage * image, bool asSlice)
{
  const auto               size = image->GetLargestPossibleRegion().GetSize();
  std::vector<py::ssize_t> shape{ static_cast<py::ssize_t>(size[2]),
                                  static_cast<py::ssize_t>(size[1]),
                                  static_cast<py::ssize_t>(size[0]) };
  if (asSlice)
  {
    shape.erase(shape.begin());
  }
  py::array_t<typename TImage::PixelType> array(shape);
  std::memcpy(array.mutable_data(), image->GetBufferPointer(), sizeof(typename TImage::PixelType) * array.size());
  return std::move(array);
}

/** Python's json.loads: the one JSON form that the C++ side writes, as Python objects. */
py::object
fromJson(const std::string & text)
{
  return py::module_::import("json").attr("loads")(text);
}

/** The same keys as `anunet evaluate --json` (an infinite distance becomes None). */
py::object
toPython(const itk::ANUNetSegmentationMetrics & m)
{
  return fromJson(anunet::workflow::metricsToJson(m).dump());
}

/** The core's one JSON form of an epoch (a log.jsonl line) and of a checkpoint's training summary. */
py::object
toDict(const anunet::EpochRecord & r)
{
  return fromJson(anunet::toJson(r));
}

py::object
toDict(const anunet::TrainingSummary & s)
{
  return fromJson(anunet::toJson(s));
}

/** Python's FileNotFoundError (not a bare RuntimeError) for a path that does not exist, before the reader
 * sees it; what names exists but cannot be read is the reader's error. */
void
requireExisting(const std::string & path, const char * what)
{
  std::error_code error;
  if (!std::filesystem::exists(path, error))
  {
    PyErr_SetString(PyExc_FileNotFoundError, (path + ": " + what + " does not exist").c_str());
    throw py::error_already_set();
  }
}

/** FileNotFoundError when the folder a file is to be written into does not exist. */
void
requireOutputFolder(const std::string & path)
{
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  std::error_code             error;
  if (!folder.empty() && !std::filesystem::is_directory(folder, error))
  {
    PyErr_SetString(PyExc_FileNotFoundError,
                    (path + ": cannot write, the folder " + folder.string() + " does not exist").c_str());
    throw py::error_already_set();
  }
}

py::tuple
readImage(const std::string & path, const std::string & series)
{
  requireExisting(path, "the image (file or DICOM folder)");
  VolumeType::Pointer image;
  {
    py::gil_scoped_release release;
    image = itk::ANUNetImageReader::ReadVolume(path, series);
  }
  const Geometry g = geometryOf(image.GetPointer());
  return py::make_tuple(toNumPy(image.GetPointer(), false), g.spacing, g.origin, g.direction);
}

template <typename TPixel>
void
writeImage(const py::array_t<TPixel, py::array::c_style | py::array::forcecast> & array,
           const Geometry &                                                       g,
           const std::string &                                                    path)
{
  requireOutputFolder(path);
  auto                   image = toItk<TPixel>(array, g);
  py::gil_scoped_release release;
  anunet::workflow::writeImageFile(image.GetPointer(), path);
}

py::array
segment(const PyModel &                                                       model,
        const py::array_t<float, py::array::c_style | py::array::forcecast> & array,
        const Geometry &                                                      g,
        const anunet::workflow::SegmentationSettings &                        settings)
{
  auto image = toItk<float>(array, g);
  auto run = [&](auto output) {
    using OutputImageType = typename decltype(output)::ObjectType;
    {
      py::gil_scoped_release release;
      output =
        anunet::workflow::runSegmentation<OutputImageType>(image.GetPointer(), model.model.GetPointer(), settings);
    }
    return toNumPy(output.GetPointer(), array.ndim() == 2);
  };
  if (settings.probability)
  {
    return run(VolumeType::Pointer());
  }
  return run(MaskType::Pointer());
}

py::dict
evaluate(const py::array_t<unsigned char, py::array::c_style | py::array::forcecast> & prediction,
         const py::array_t<unsigned char, py::array::c_style | py::array::forcecast> & truth,
         const Geometry &                                                              g,
         int                                                                           label,
         bool                                                                          surfaceDistances)
{
  if (prediction.ndim() != truth.ndim() ||
      !std::equal(prediction.shape(), prediction.shape() + prediction.ndim(), truth.shape()))
  {
    throw py::value_error("prediction and truth have different shapes");
  }
  auto filter = itk::ANUNetSegmentationMetricsImageFilter<MaskType>::New();
  filter->SetPredictionImage(toItk<unsigned char>(prediction, g));
  filter->SetGroundTruthImage(toItk<unsigned char>(truth, g));
  if (label > 0)
  {
    filter->SetLabel(static_cast<unsigned char>(label));
  }
  filter->SetComputeSurfaceDistances(surfaceDistances);
  {
    py::gil_scoped_release release;
    filter->Update();
  }
  py::dict result;
  for (const auto l : filter->GetLabels())
  {
    result[py::int_(static_cast<int>(l))] = toPython(filter->GetMetrics(l));
  }
  return result;
}

/** The Python side of a training run: calls the user's functions with the GIL held, and turns Ctrl-C (or an
 * exception in a user function) into a stop after the current step, the exception raised once last.pt is
 * written. */
class PythonTrainingObserver
{
public:
  PythonTrainingObserver(py::object progress, py::object onEpoch)
    : m_Progress(std::move(progress))
    , m_OnEpoch(std::move(onEpoch))
  {}

  anunet::workflow::TrainingObserver
  observer()
  {
    anunet::workflow::TrainingObserver o;
    o.step = [this](const anunet::TrainingProgress & p) {
      call(m_Progress, [&p] {
        py::dict d;
        d["epoch"] = p.epoch;
        d["epochs"] = p.epochs;
        d["iteration"] = p.iteration;
        d["total_iterations"] = p.totalIterations;
        d["loss"] = p.loss;
        d["seconds_elapsed"] = p.secondsElapsed;
        d["seconds_remaining"] = p.secondsRemaining;
        return d;
      });
    };
    o.epoch = [this](const anunet::EpochRecord & r) { call(m_OnEpoch, [&r] { return toDict(r); }); };
    o.stopRequested = [this] {
      py::gil_scoped_acquire acquire;
      if (!m_Pending && PyErr_CheckSignals() != 0)
      {
        m_Pending = std::make_unique<py::error_already_set>();
      }
      return m_Pending != nullptr;
    };
    return o;
  }

  /** Raises what stopped the run, if anything did. */
  void
  raisePending()
  {
    if (m_Pending)
    {
      throw std::move(*m_Pending);
    }
  }

  bool
  pending() const
  {
    return m_Pending != nullptr;
  }

private:
  template <typename MakeArgument>
  void
  call(const py::object & function, const MakeArgument & makeArgument)
  {
    if (function.is_none())
    {
      return;
    }
    py::gil_scoped_acquire acquire;
    if (m_Pending)
    {
      return;
    }
    try
    {
      function(makeArgument());
    }
    catch (py::error_already_set & e)
    {
      m_Pending = std::make_unique<py::error_already_set>(std::move(e));
    }
  }

  py::object                             m_Progress;
  py::object                             m_OnEpoch;
  std::unique_ptr<py::error_already_set> m_Pending;
};

py::tuple
train(const std::string & configPath,
      const std::string & out,
      const std::string & dataRoot,
      int                 epochs,
      int                 seed,
      int                 threads,
      bool                distributed,
      double              distributedTimeout,
      bool                localBatchNorm,
      py::object          progress,
      py::object          onEpoch,
      const std::string & resume,
      const std::string & device)
{
  using namespace anunet::workflow;
  TrainingConfig config = readTrainingConfig(configPath, dataRoot.empty() ? defaultDataRoot() : dataRoot);
  if (epochs > 0)
  {
    config.options.epochs = epochs;
  }
  if (seed >= 0)
  {
    config.options.seed = static_cast<uint64_t>(seed);
  }
  if (threads >= 0)
  {
    config.options.threads = threads;
  }
  if (!device.empty())
  {
    config.options.device = device; // anunet.train() has checked it
  }
  if (!resume.empty())
  {
    requireExisting(resume, "the checkpoint to resume from");
    config.options.resumeFrom = resume;
  }
  if (distributed)
  {
    enableDistributedTraining(config, distributedTimeout, localBatchNorm); // ValueError naming the variable
  }
  finalizeTrainingConfig(config, out);
  PythonTrainingObserver watcher(std::move(progress), std::move(onEpoch));
  TrainingRun            run;
  try
  {
    py::gil_scoped_release release;
    run = runTraining(config, watcher.observer());
  }
  catch (const itk::ProcessAborted &)
  {
    if (!watcher.pending())
    {
      throw;
    }
  }
  watcher.raisePending();
  py::list history;
  for (const auto & r : run.history)
  {
    history.append(toDict(r));
  }
  return py::make_tuple(PyModel{ run.model }, history);
}

} // namespace

PYBIND11_MODULE(_anunet, m)
{
  m.doc() = "ITKANUNet's compiled core; use the anunet package.";
  // Importing the module opts the interpreter in, as the tool does at start (anunet::configureCpuRuntime).
  anunet::configureCpuRuntime();
  m.def("configure_cpu_runtime",
        &anunet::configureCpuRuntime,
        "Keep LibTorch's large allocations in the heap and OpenBLAS single-threaded (done at import).");

  py::class_<Geometry>(m, "Geometry")
    .def(py::init<>())
    .def(py::init([](Vector3 spacing, Vector3 origin, Matrix3 direction) {
           return Geometry{ spacing, origin, direction };
         }),
         py::arg("spacing"),
         py::arg("origin"),
         py::arg("direction"))
    .def_readwrite("spacing", &Geometry::spacing)
    .def_readwrite("origin", &Geometry::origin)
    .def_readwrite("direction", &Geometry::direction);

  py::class_<PyModel>(m, "Model")
    .def_static(
      "load",
      [](const std::string & path) {
        requireExisting(path, "the model file");
        auto model = itk::ANUNetModel::New();
        {
          py::gil_scoped_release release;
          model->SetModel(anunet::Model::load(path));
        }
        return PyModel{ model };
      },
      py::arg("path"),
      "Reads a checkpoint (anunet train) or a TorchScript file.")
    .def_property_readonly("architecture", [](const PyModel & m) { return toString(m.get().options().architecture); })
    .def_property_readonly("filters", [](const PyModel & m) { return m.get().options().filters; })
    .def_property_readonly("classes", [](const PyModel & m) { return m.get().options().classes; })
    .def_property_readonly("maximum_level", [](const PyModel & m) { return m.get().maximumLevel(); })
    .def_property_readonly("is_torchscript", [](const PyModel & m) { return m.get().isTorchScript(); })
    .def_property_readonly(
      "torchscript_level",
      [](const PyModel & m) { return m.get().torchScriptLevel(); },
      "The level a TorchScript model was exported at (it runs that level, or 0); 0 otherwise")
    .def_property_readonly("training", [](const PyModel & m) { return toDict(m.get().training()); })
    .def(
      "parameter_count",
      [](const PyModel & m, int level) { return m.get().parameterCount(level); },
      py::arg("level") = 0)
    .def(
      "save", [](const PyModel & m, const std::string & path) { m.get().save(path); }, py::arg("path"))
    .def(
      "export_torchscript",
      [](const PyModel & m, const std::string & path, int level) { m.get().exportTorchScript(path, level); },
      py::arg("path"),
      py::arg("level") = 0);

  m.def("read_image", &readImage, py::arg("path"), py::arg("series_uid") = "");
  m.def("write_labels", &writeImage<unsigned char>, py::arg("array"), py::arg("geometry"), py::arg("path"));
  m.def("write_float", &writeImage<float>, py::arg("array"), py::arg("geometry"), py::arg("path"));
  m.def(
    "segment",
    [](const PyModel &                                                       model,
       const py::array_t<float, py::array::c_style | py::array::forcecast> & array,
       const Geometry &                                                      g,
       int                                                                   level,
       int                                                                   threads,
       unsigned int                                                          batch,
       bool                                                                  probability,
       bool                                                                  mirror,
       bool                                                                  largestComponent,
       const std::string &                                                   precision) {
      anunet::workflow::SegmentationSettings settings;
      settings.precision = precision;
      settings.level = level;
      settings.threads = threads;
      settings.batch = batch;
      settings.probability = probability;
      settings.mirror = mirror;
      settings.largestComponents = largestComponent;
      return segment(model, array, g, settings);
    },
    py::arg("model"),
    py::arg("array"),
    py::arg("geometry"),
    py::arg("level"),
    py::arg("threads"),
    py::arg("batch"),
    py::arg("probability"),
    py::arg("mirror"),
    py::arg("largest_component"),
    py::arg("precision"));
  m.def("cpu_has_bfloat16", &anunet::cpuHasBFloat16, "Whether this CPU has avx512_bf16 or amx_bf16");
  m.def("check_device",
        &anunet::Model::checkDevice,
        "RuntimeError saying why, where the device is not \"cpu\" or an existing \"cuda[:k]\"",
        py::arg("device"));
  m.def(
    "check_precision",
    [](const std::string & precision, const std::string & device) {
      anunet::Model::checkPrecision(anunet::precisionFromString(precision), device);
    },
    "ValueError saying why, where the precision cannot run on the device at full speed",
    py::arg("precision"),
    py::arg("device") = "cpu");
  m.def("evaluate",
        &evaluate,
        py::arg("prediction"),
        py::arg("truth"),
        py::arg("geometry"),
        py::arg("label"),
        py::arg("surface_distances"));
  m.def("train",
        &train,
        py::arg("config"),
        py::arg("out"),
        py::arg("data_root"),
        py::arg("epochs"),
        py::arg("seed"),
        py::arg("threads"),
        py::arg("distributed"),
        py::arg("distributed_timeout"),
        py::arg("local_batch_norm"),
        py::arg("progress"),
        py::arg("on_epoch"),
        py::arg("resume"),
        py::arg("device"));

  // C++ exceptions carry the file and the problem; surface them as Python exceptions of the same kind.
  py::register_exception_translator([](std::exception_ptr p) {
    try
    {
      if (p)
      {
        std::rethrow_exception(p);
      }
    }
    catch (const anunet::workflow::MissingFileError & e)
    {
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
    }
    catch (const itk::ExceptionObject & e)
    {
      PyErr_SetString(PyExc_RuntimeError, e.GetDescription());
    }
  });
}
