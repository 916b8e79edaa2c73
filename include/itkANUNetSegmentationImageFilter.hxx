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
#ifndef itkANUNetSegmentationImageFilter_hxx
#define itkANUNetSegmentationImageFilter_hxx

#include "itkANUNetSegmentationImageFilter.h"

#include <algorithm>
#include <exception>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace itk
{

template <typename TInputImage, typename TOutputImage>
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::ANUNetSegmentationImageFilter()
{
  this->AddOptionalInputName("ModelInput", 1);
}

template <typename TInputImage, typename TOutputImage>
void
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::ResolveModelSource()
{
  const ANUNetModel * input = this->GetModelInput();
  if (input != nullptr && !m_ModelFileName.empty())
  {
    itkExceptionMacro("Both a ModelInput and a ModelFileName ('" << m_ModelFileName << "') are set; set only one");
  }
  if (input == nullptr && m_ModelFileName.empty())
  {
    itkExceptionMacro("No model: set a ModelInput (an ANUNetModel) or a ModelFileName");
  }
  if (input == nullptr && (m_LoadedModel.IsNull() || m_LoadedFileName != m_ModelFileName))
  {
    auto model = ANUNetModel::New();
    model->Load(m_ModelFileName);
    m_LoadedModel = model;
    m_LoadedFileName = m_ModelFileName;
  }
  if (input != nullptr)
  {
    m_LoadedModel = nullptr;
    m_LoadedFileName.clear();
  }
}

template <typename TInputImage, typename TOutputImage>
const anunet::Model &
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::GetModel() const
{
  if (const ANUNetModel * input = this->GetModelInput())
  {
    return input->GetModel();
  }
  if (m_LoadedModel.IsNotNull() && m_LoadedFileName == m_ModelFileName)
  {
    return m_LoadedModel->GetModel();
  }
  itkExceptionMacro("No model yet: set a ModelInput or a ModelFileName and update the filter");
}

template <typename TInputImage, typename TOutputImage>
const anunet::Preprocessing *
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::KnownPreprocessing()
{
  if (const ANUNetModel * input = this->GetModelInput())
  {
    return input->HasModel() ? &input->GetModel().preprocessing() : nullptr;
  }
  if (m_LoadedModel.IsNotNull() && m_LoadedFileName == m_ModelFileName)
  {
    return &m_LoadedModel->GetModel().preprocessing();
  }
  return nullptr;
}

template <typename TInputImage, typename TOutputImage>
void
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::GenerateOutputInformation()
{
  // The output has the input's geometry (the superclass copies it); loading the model here reports a
  // missing or unreadable file before any upstream work is done.
  Superclass::GenerateOutputInformation();
  this->ResolveModelSource();
}

template <typename TInputImage, typename TOutputImage>
void
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::EnlargeOutputRequestedRegion(DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  auto *                        image = dynamic_cast<OutputImageType *>(output);
  const anunet::Preprocessing * preprocessing = this->KnownPreprocessing();
  if (image == nullptr)
  {
    return;
  }
  if (preprocessing == nullptr || InputImageDimension == 2)
  {
    // Without the model's slice axis (its producer has not run yet), whole slices are unknown.
    image->SetRequestedRegionToLargestPossibleRegion();
    return;
  }
  auto preprocessor = PreprocessorType::New();
  preprocessor->SetPreprocessing(*preprocessing);
  image->SetRequestedRegion(
    preprocessor->GetWholeInPlaneRegion(image->GetRequestedRegion(), image->GetLargestPossibleRegion()));
}

template <typename TInputImage, typename TOutputImage>
void
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  auto * input = const_cast<InputImageType *>(this->GetInput());
  if (input == nullptr)
  {
    return;
  }
  const anunet::Preprocessing * preprocessing = this->KnownPreprocessing();
  if (preprocessing == nullptr || this->NeedsWholeInput(*preprocessing))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
  // Otherwise the superclass already asked for the output's requested slab, which is whole in-plane.
}

template <typename TInputImage, typename TOutputImage>
void
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::CheckModel(const anunet::Model & model) const
{
  const anunet::NetworkOptions & options = model.options();
  const std::string              architecture = anunet::toString(options.architecture);
  if (options.inputChannels != 1)
  {
    itkExceptionMacro("The model (" << architecture << ") takes " << options.inputChannels
                                    << " input channels, but the input image has 1 component per pixel");
  }
  if (m_Level != RecordedLevel && (m_Level < 0 || m_Level > model.maximumLevel()))
  {
    if (model.maximumLevel() == 0)
    {
      itkExceptionMacro("Level " << m_Level << " was requested, but the " << architecture
                                 << " network has no pruning levels; use Level 0 (the full network)");
    }
    itkExceptionMacro("Level " << m_Level << " is out of range: the " << architecture << " network has levels 1.."
                               << model.maximumLevel() << ", and 0 for the full network");
  }
  const int channels = model.outputChannels();
  if (m_OutputProbabilities)
  {
    if (!std::is_floating_point<OutputPixelType>::value)
    {
      itkExceptionMacro("Probabilities need a floating-point output pixel type, not "
                        << typeid(OutputPixelType).name() << "; use e.g. itk::Image<float, " << OutputImageDimension
                        << ">");
    }
    if (m_ProbabilityClass < 0 || m_ProbabilityClass >= std::max(2, channels))
    {
      itkExceptionMacro("ProbabilityClass " << m_ProbabilityClass << " is out of range: the network has classes 0.."
                                            << std::max(2, channels) - 1);
    }
  }
  else if (static_cast<double>(channels - 1) > static_cast<double>(NumericTraits<OutputPixelType>::max()))
  {
    itkExceptionMacro("The network has " << channels << " classes, more than the output pixel type can hold");
  }
}

template <typename TInputImage, typename TOutputImage>
const anunet::Model &
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::ModelOnDevice()
{
  const anunet::Model & source = this->GetModel();
  if (source.device() == m_Device)
  {
    m_ModelOnDevice.reset();
    return source;
  }
  const ANUNetModel * holder = m_LoadedModel ? m_LoadedModel.GetPointer() : this->GetModelInput();
  if (!m_ModelOnDevice || !m_ModelOnDevice->source.sharesWith(source) || m_ModelOnDevice->device != m_Device ||
      m_ModelOnDevice->holderTime != holder->GetMTime())
  {
    try
    {
      anunet::Model copy = source.clone();
      copy.setDevice(m_Device);
      m_ModelOnDevice = ModelOnDeviceType{ source, copy, m_Device, holder->GetMTime() };
    }
    catch (const std::exception & e)
    {
      m_ModelOnDevice.reset();
      itkExceptionMacro("Cannot run the model on device '" << m_Device << "': " << e.what());
    }
  }
  return m_ModelOnDevice->copy;
}

template <typename TInputImage, typename TOutputImage>
void
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::GenerateData()
{
  static_assert(std::is_arithmetic<InputPixelType>::value, "the networks take single-component (scalar) images");
  this->ResolveModelSource();
  const anunet::Model & model = this->ModelOnDevice();
  this->CheckModel(model);

  const InputImageType * input = this->GetInput();
  OutputImageType *      output = this->GetOutput();
  this->AllocateOutputs();

  auto preprocessor = PreprocessorType::New();
  preprocessor->SetPreprocessing(model.preprocessing());
  preprocessor->SetInput(input);
  if (m_VolumeIntensityMap)
  {
    preprocessor->SetVolumeIntensityMap(*m_VolumeIntensityMap);
  }
  const OutputRegionType outputRegion = output->GetRequestedRegion();
  const OutputRegionType needed =
    this->NeedsWholeInput(model.preprocessing())
      ? input->GetLargestPossibleRegion()
      : preprocessor->GetWholeInPlaneRegion(outputRegion, input->GetLargestPossibleRegion());
  if (!input->GetBufferedRegion().IsInside(needed))
  {
    // Happens only when the model's preprocessing changed after the requested regions were negotiated.
    itkExceptionMacro("The input's buffered region " << input->GetBufferedRegion() << " does not cover the region "
                                                     << needed << " that the model's preprocessing needs");
  }
  preprocessor->Initialize();

  // Per call, so that the model (the filter's input) keeps its own settings.
  anunet::Model::RunOptions run;
  run.level = m_Level == RecordedLevel ? model.levelChoice().level : m_Level;
  run.mirroring = m_TestTimeMirroring ? anunet::Model::Mirroring::InPlane : anunet::Model::Mirroring::Off;
  run.threads = m_NumberOfThreads;
  try
  {
    run.precision = anunet::precisionFromString(m_Precision);
  }
  catch (const std::invalid_argument & e)
  {
    itkExceptionMacro("Precision: " << e.what());
  }

  using SizeValueType = typename PreprocessorType::SizeValueType;
  using IndexValueType = typename PreprocessorType::IndexValueType;
  const IndexValueType first = preprocessor->GetFirstSlice(outputRegion);
  const SizeValueType  total = preprocessor->GetNumberOfSlices(outputRegion);
  const auto           channels = static_cast<SizeValueType>(model.outputChannels());
  const auto           networkArea =
    static_cast<SizeValueType>(model.preprocessing().width) * static_cast<SizeValueType>(model.preprocessing().height);
  const SizeValueType area = preprocessor->GetInputWidth() * preprocessor->GetInputHeight();
  const SizeValueType batch = std::min<SizeValueType>(m_BatchSize, total);

  std::vector<float>           networkInput(batch * networkArea);
  std::vector<float>           networkOutput(batch * channels * networkArea);
  std::vector<float>           probabilities(batch * channels * area);
  std::vector<OutputPixelType> values(batch * area);

  // One change of LibTorch's thread count for the volume, not one per batch (anunet::ScopedThreadCount).
  const anunet::ScopedThreadCount threadCount(m_NumberOfThreads);
  this->UpdateProgress(0.0f);
  for (SizeValueType done = 0; done < total; done += batch)
  {
    const SizeValueType  count = std::min(batch, total - done);
    const IndexValueType start = first + static_cast<IndexValueType>(done);
    preprocessor->ExtractSlices(start, count, networkInput.data());
    try
    {
      model.run(networkInput.data(),
                { static_cast<int64_t>(count),
                  1,
                  static_cast<int64_t>(model.preprocessing().height),
                  static_cast<int64_t>(model.preprocessing().width) },
                networkOutput.data(),
                run);
    }
    catch (const std::exception & e)
    {
      itkExceptionMacro("The network failed on slices [" << start << ", " << start + static_cast<IndexValueType>(count)
                                                         << "): " << e.what());
    }
    preprocessor->MapToInputGrid(
      networkOutput.data(), count, static_cast<unsigned int>(channels), probabilities.data());

    for (SizeValueType s = 0; s < count; ++s)
    {
      const float *     slice = probabilities.data() + s * channels * area;
      OutputPixelType * out = values.data() + s * area;
      if (m_OutputProbabilities)
      {
        const bool    complement = channels == 1 && m_ProbabilityClass == 0;
        const float * map = slice + (channels == 1 ? 0 : static_cast<SizeValueType>(m_ProbabilityClass) * area);
        for (SizeValueType p = 0; p < area; ++p)
        {
          out[p] = static_cast<OutputPixelType>(complement ? 1.0f - map[p] : map[p]);
        }
      }
      else if (channels == 1)
      {
        for (SizeValueType p = 0; p < area; ++p)
        {
          out[p] = static_cast<OutputPixelType>(slice[p] > m_Threshold ? 1 : 0);
        }
      }
      else
      {
        for (SizeValueType p = 0; p < area; ++p)
        {
          SizeValueType best = 0;
          for (SizeValueType c = 1; c < channels; ++c)
          {
            if (slice[c * area + p] > slice[best * area + p])
            {
              best = c;
            }
          }
          out[p] = static_cast<OutputPixelType>(best);
        }
      }
    }
    preprocessor->InsertSlices(values.data(), start, count, output);

    this->UpdateProgress(static_cast<float>(done + count) / static_cast<float>(total));
    if (this->GetAbortGenerateData())
    {
      ProcessAborted aborted(__FILE__, __LINE__);
      aborted.SetDescription("ANUNetSegmentationImageFilter aborted after " + std::to_string(done + count) + " of " +
                             std::to_string(total) + " slices");
      throw aborted;
    }
  }
}

template <typename TInputImage, typename TOutputImage>
void
ANUNetSegmentationImageFilter<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "ModelFileName: " << m_ModelFileName << '\n';
  os << indent << "ModelInput: " << this->GetModelInput() << '\n';
  os << indent << "Level: " << m_Level << '\n';
  os << indent << "Threshold: " << m_Threshold << '\n';
  os << indent << "OutputProbabilities: " << (m_OutputProbabilities ? "On" : "Off") << '\n';
  os << indent << "ProbabilityClass: " << m_ProbabilityClass << '\n';
  os << indent << "NumberOfThreads: " << m_NumberOfThreads << '\n';
  os << indent << "Device: " << m_Device << '\n';
  os << indent << "Precision: " << m_Precision << '\n';
  os << indent << "BatchSize: " << m_BatchSize << '\n';
  os << indent << "TestTimeMirroring: " << (m_TestTimeMirroring ? "On" : "Off") << '\n';
  os << indent << "VolumeIntensityMap: " << (m_VolumeIntensityMap ? "set" : "none") << '\n';
}

} // namespace itk

#endif
