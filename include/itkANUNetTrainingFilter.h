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
#ifndef itkANUNetTrainingFilter_h
#define itkANUNetTrainingFilter_h

#include "itkANUNetModel.h"
#include "itkProcessObject.h"
#include "itkSimpleDataObjectDecorator.h"
#include "anunet/Training.h"

#include <string>
#include <vector>

namespace itk
{

/** Set<Name>/Get<Name> of one field of the filter's anunet::TrainingOptions. */
#define itkANUNetTrainingOptionMacro(name, type, field)                                                                \
  void Set##name(const type & value)                                                                                   \
  {                                                                                                                    \
    if (!(m_Options.field == value))                                                                                   \
    {                                                                                                                  \
      m_Options.field = value;                                                                                         \
      this->Modified();                                                                                                \
    }                                                                                                                  \
  }                                                                                                                    \
  type Get##name() const                                                                                               \
  {                                                                                                                    \
    return m_Options.field;                                                                                            \
  }

/** Set<Name>/Get<Name> of an enum field of the options by its name (as in configs), for the wrapped languages
 * as SetArchitecture; an unknown name is an itk::ExceptionObject listing the valid ones. */
#define itkANUNetTrainingNamedOptionMacro(name, field, fromString)                                                     \
  void Set##name(const std::string & value)                                                                            \
  {                                                                                                                    \
    try                                                                                                                \
    {                                                                                                                  \
      const auto parsed = anunet::fromString(value);                                                                   \
      if (!(m_Options.field == parsed))                                                                                \
      {                                                                                                                \
        m_Options.field = parsed;                                                                                      \
        this->Modified();                                                                                              \
      }                                                                                                                \
    }                                                                                                                  \
    catch (const std::invalid_argument & e)                                                                            \
    {                                                                                                                  \
      itkExceptionMacro("Set" #name ": " << e.what());                                                                 \
    }                                                                                                                  \
  }                                                                                                                    \
  std::string Get##name() const                                                                                        \
  {                                                                                                                    \
    return anunet::toString(m_Options.field);                                                                          \
  }

/** \class ANUNetTrainingFilter
 * \brief Trains an ANU-Net (or a baseline) on image/label pairs and produces the trained model.
 *
 * Inputs are pairs of an image and its label image, each marked as a training or a validation case
 * (splits are by case, never by slice). Each case is preprocessed by ANUNetPreprocessor, the same code
 * that ANUNetSegmentationImageFilter runs at inference, with the preprocessing of the options; the
 * preprocessing and the label mapping are recorded in the model, so that inference applies exactly what
 * training used. The output is an ANUNetModel (a pipeline DataObject); the trainer also writes best.pt,
 * last.pt and log.jsonl into the options' output directory.
 *
 * This is a ProcessObject rather than an ImageToImageFilter: its output is a model, not an image.
 * Progress events are sent per optimiser step; AbortGenerateData (from an observer or the progress
 * callback) stops training after the current step, writes last.pt at that step, and Update() throws
 * ProcessAborted saying so; training resumed from that last.pt continues from the same step.
 *
 * \ingroup ANUNet
 */
template <typename TImage, typename TLabelImage>
class ITK_TEMPLATE_EXPORT ANUNetTrainingFilter : public ProcessObject
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ANUNetTrainingFilter);

  using Self = ANUNetTrainingFilter;
  using Superclass = ProcessObject;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using ImageType = TImage;
  using LabelImageType = TLabelImage;

  itkNewMacro(Self);
  itkTypeMacro(ANUNetTrainingFilter, ProcessObject);

  /** Adds a case; validation cases are only used to select the best epoch. */
  void
  AddCase(const ImageType * image, const LabelImageType * label, const std::string & name, bool validation = false);

  unsigned int
  GetNumberOfCases() const
  {
    return static_cast<unsigned int>(m_CaseNames.size());
  }

  /** All training parameters: network, preprocessing, loss, optimiser, schedule, epochs, seed, output folder. */
  void
  SetOptions(const anunet::TrainingOptions & options)
  {
    m_Options = options;
    this->Modified();
  }
  const anunet::TrainingOptions &
  GetOptions() const
  {
    return m_Options;
  }

  /** The options one by one, ITK style, for ITK Python (SWIG wraps no option struct). Names as in
   * anunet::TrainingOptions; Architecture takes "anunet", "unetpp", "unet", "r2unet", "attunet" or "r2attunet". */
  void
  SetArchitecture(const std::string & name)
  {
    try
    {
      m_Options.network.architecture = anunet::architectureFromString(name);
    }
    catch (const std::exception & e)
    {
      itkExceptionMacro("SetArchitecture: " << e.what());
    }
    this->Modified();
  }
  std::string
  GetArchitecture() const
  {
    return anunet::toString(m_Options.network.architecture);
  }
  /** Which label values form the classes, as anunet::LabelMapping::parse reads them ("labels=1;background=2,3,4":
   * class 1 is label 1, labels 2 to 4 are background, any other value is an error when training); also sets the
   * network's number of outputs to match. */
  void
  SetLabels(const std::string & labels)
  {
    try
    {
      m_Options.preprocessing.labels = anunet::LabelMapping::parse(labels);
    }
    catch (const std::exception & e)
    {
      itkExceptionMacro("SetLabels: " << e.what());
    }
    m_Options.network.classes = m_Options.preprocessing.labels.networkOutputs();
    this->Modified();
  }
  std::string
  GetLabels() const
  {
    return m_Options.preprocessing.labels.toString();
  }
  /** Filters of the first level; each deeper level doubles them (the paper's network: 32). */
  void
  SetNumberOfBaseFilters(unsigned int filters)
  {
    for (size_t level = 0; level < m_Options.network.filters.size(); ++level)
    {
      m_Options.network.filters[level] = static_cast<int>(filters << level);
    }
    this->Modified();
  }
  unsigned int
  GetNumberOfBaseFilters() const
  {
    return m_Options.network.filters.empty() ? 0U : static_cast<unsigned int>(m_Options.network.filters.front());
  }
  /** The in-plane size that slices are resampled to for the network. */
  void
  SetNetworkSize(unsigned int width, unsigned int height)
  {
    m_Options.preprocessing.width = static_cast<int>(width);
    m_Options.preprocessing.height = static_cast<int>(height);
    this->Modified();
  }
  itkANUNetTrainingOptionMacro(Loss, std::string, loss);
  itkANUNetTrainingNamedOptionMacro(Optimizer, optimizer, optimizerFromString);
  itkANUNetTrainingNamedOptionMacro(Schedule, schedule, scheduleFromString);
  itkANUNetTrainingNamedOptionMacro(Precision, precision, precisionFromString);
  itkANUNetTrainingOptionMacro(LearningRate, double, learningRate);
  itkANUNetTrainingOptionMacro(NumberOfEpochs, int, epochs);
  itkANUNetTrainingOptionMacro(IterationsPerEpoch, int64_t, iterationsPerEpoch);
  itkANUNetTrainingOptionMacro(BatchSize, int, batchSize);
  itkANUNetTrainingOptionMacro(ForegroundFraction, double, foregroundFraction);
  itkANUNetTrainingOptionMacro(Seed, uint64_t, seed);
  itkANUNetTrainingOptionMacro(NumberOfThreads, int, threads);
  /** "cpu" or "cuda[:k]" (anunet::TrainingOptions::device); Update() throws where it does not exist. */
  itkANUNetTrainingOptionMacro(Device, std::string, device);
  itkANUNetTrainingOptionMacro(OutputDirectory, std::string, outputDirectory);
  itkANUNetTrainingOptionMacro(ResumeFrom, std::string, resumeFrom);
  itkANUNetTrainingOptionMacro(DeepSupervision, bool, network.deepSupervision);
  itkANUNetTrainingOptionMacro(Augmentation, bool, augmentation.enabled);

  /** The history of the last Update() one number at a time (an IterationEvent follows each epoch). */
  unsigned int
  GetNumberOfTrainedEpochs() const
  {
    return static_cast<unsigned int>(m_History.size());
  }
  double
  GetEpochLoss(unsigned int epoch) const
  {
    return this->GetEpochRecord(epoch).loss;
  }
  double
  GetEpochValidationDice(unsigned int epoch) const
  {
    return this->GetEpochRecord(epoch).validationDice;
  }

  /** Finer-grained reports than ITK's progress events, for front ends that print loss and ETA. */
  void
  SetProgressCallback(anunet::Trainer::ProgressCallback callback)
  {
    m_ProgressCallback = std::move(callback);
  }
  void
  SetEpochCallback(anunet::Trainer::EpochCallback callback)
  {
    m_EpochCallback = std::move(callback);
  }

  /** The trained model (best epoch by validation Dice). */
  ANUNetModel *
  GetOutput();

  /** Per-epoch records of the last Update(). */
  const std::vector<anunet::EpochRecord> &
  GetHistory() const
  {
    return m_History;
  }

protected:
  ANUNetTrainingFilter();
  ~ANUNetTrainingFilter() override = default;

  void
  GenerateData() override;

  using DataObjectPointerArraySizeType = ProcessObject::DataObjectPointerArraySizeType;
  using Superclass::MakeOutput;
  DataObject::Pointer
  MakeOutput(DataObjectPointerArraySizeType idx) override;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  const anunet::EpochRecord &
  GetEpochRecord(unsigned int epoch) const;

  anunet::TrainingOptions           m_Options;
  std::vector<std::string>          m_CaseNames;
  std::vector<bool>                 m_IsValidation;
  anunet::Trainer::ProgressCallback m_ProgressCallback;
  anunet::Trainer::EpochCallback    m_EpochCallback;
  std::vector<anunet::EpochRecord>  m_History;
  int64_t                           m_Iterations = 0; ///< optimiser steps of the run in progress
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkANUNetTrainingFilter.hxx"
#endif

#endif
