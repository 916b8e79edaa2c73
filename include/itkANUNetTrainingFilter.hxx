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
#ifndef itkANUNetTrainingFilter_hxx
#define itkANUNetTrainingFilter_hxx

#include "itkANUNetTrainingFilter.h"

#include "itkANUNetPreprocessor.h"

namespace itk
{

template <typename TImage, typename TLabelImage>
ANUNetTrainingFilter<TImage, TLabelImage>::ANUNetTrainingFilter()
{
  this->SetNumberOfRequiredOutputs(1);
  this->SetNthOutput(0, this->MakeOutput(0));
}

template <typename TImage, typename TLabelImage>
DataObject::Pointer
ANUNetTrainingFilter<TImage, TLabelImage>::MakeOutput(DataObjectPointerArraySizeType)
{
  return ANUNetModel::New().GetPointer();
}

template <typename TImage, typename TLabelImage>
ANUNetModel *
ANUNetTrainingFilter<TImage, TLabelImage>::GetOutput()
{
  return itkDynamicCastInDebugMode<ANUNetModel *>(this->ProcessObject::GetOutput(0));
}

template <typename TImage, typename TLabelImage>
void
ANUNetTrainingFilter<TImage, TLabelImage>::AddCase(const ImageType *      image,
                                                   const LabelImageType * label,
                                                   const std::string &    name,
                                                   bool                   validation)
{
  if (image == nullptr || label == nullptr)
  {
    itkExceptionMacro("Case " << name << ": image and label are both required");
  }
  // Images sit at even input indices, their labels at the following odd index.
  const auto index = static_cast<DataObjectPointerArraySizeType>(2 * m_CaseNames.size());
  this->SetNthInput(index, const_cast<ImageType *>(image));
  this->SetNthInput(index + 1, const_cast<LabelImageType *>(label));
  m_CaseNames.push_back(name);
  m_IsValidation.push_back(validation);
  this->Modified();
}

template <typename TImage, typename TLabelImage>
void
ANUNetTrainingFilter<TImage, TLabelImage>::GenerateData()
{
  if (m_CaseNames.empty())
  {
    itkExceptionMacro("No cases: add image/label pairs with AddCase() before training");
  }
  const int outputs = m_Options.preprocessing.labels.networkOutputs();
  if (m_Options.network.classes != outputs)
  {
    itkExceptionMacro("The label mapping has " << m_Options.preprocessing.labels.classes.size() << " class(es), so the "
                                               << "network needs " << outputs << " output(s), but its options say "
                                               << m_Options.network.classes);
  }
  std::vector<anunet::SliceVolume> training;
  std::vector<anunet::SliceVolume> validation;
  for (size_t i = 0; i < m_CaseNames.size(); ++i)
  {
    const auto * image = itkDynamicCastInDebugMode<const ImageType *>(this->ProcessObject::GetInput(2 * i));
    const auto * label = itkDynamicCastInDebugMode<const LabelImageType *>(this->ProcessObject::GetInput(2 * i + 1));
    auto volume = ANUNetPreprocessor<ImageType>::MakeSliceVolume(image, label, m_Options.preprocessing, m_CaseNames[i]);
    (m_IsValidation[i] ? validation : training).push_back(std::move(volume));
  }
  if (training.empty())
  {
    itkExceptionMacro("All " << m_CaseNames.size() << " cases are validation cases; at least one must train");
  }

  anunet::Trainer trainer(m_Options);
  trainer.setProgressCallback([this, &trainer](const anunet::TrainingProgress & p) {
    this->UpdateProgress(static_cast<float>(p.iteration) / static_cast<float>(std::max<int64_t>(1, p.totalIterations)));
    m_Iterations = p.iteration;
    if (m_ProgressCallback)
    {
      m_ProgressCallback(p); // may abort: checked below, so that the stop comes after this very step
    }
    if (this->GetAbortGenerateData())
    {
      trainer.requestStop();
    }
  });
  trainer.setEpochCallback([this](const anunet::EpochRecord & record) {
    m_History.push_back(record);
    this->InvokeEvent(IterationEvent());
    if (m_EpochCallback)
    {
      m_EpochCallback(record);
    }
  });
  m_History.clear();
  anunet::Model model = trainer.train(training, validation);
  m_History = trainer.history();
  if (this->GetAbortGenerateData() && trainer.interrupted())
  {
    ProcessAborted e(__FILE__, __LINE__);
    e.SetDescription("Training stopped after iteration " + std::to_string(m_Iterations) +
                     (m_Options.outputDirectory.empty()
                        ? std::string(" (no output directory: nothing was saved)")
                        : "; last.pt in " + m_Options.outputDirectory + " holds that iteration"));
    throw e;
  }
  this->GetOutput()->SetModel(model);
}

template <typename TImage, typename TLabelImage>
const anunet::EpochRecord &
ANUNetTrainingFilter<TImage, TLabelImage>::GetEpochRecord(unsigned int epoch) const
{
  if (epoch >= m_History.size())
  {
    itkExceptionMacro("Epoch index " << epoch << " out of range: the last Update() trained " << m_History.size()
                                     << " epochs");
  }
  return m_History[epoch];
}

template <typename TImage, typename TLabelImage>
void
ANUNetTrainingFilter<TImage, TLabelImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Architecture: " << anunet::toString(m_Options.network.architecture) << '\n';
  os << indent << "Loss: " << m_Options.loss << '\n';
  os << indent << "Epochs: " << m_Options.epochs << '\n';
  os << indent << "BatchSize: " << m_Options.batchSize << '\n';
  os << indent << "LearningRate: " << m_Options.learningRate << '\n';
  os << indent << "Seed: " << m_Options.seed << '\n';
  os << indent << "OutputDirectory: " << m_Options.outputDirectory << '\n';
  os << indent << "Cases: " << m_CaseNames.size() << '\n';
}

} // namespace itk

#endif
