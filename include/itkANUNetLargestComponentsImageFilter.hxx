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
#ifndef itkANUNetLargestComponentsImageFilter_hxx
#define itkANUNetLargestComponentsImageFilter_hxx

#include "itkANUNetLargestComponentsImageFilter.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkConnectedComponentImageFilter.h"
#include "itkRelabelComponentImageFilter.h"
#include "itkImageAlgorithm.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"
#include "itkProgressReporter.h"

#include <algorithm>
#include <set>

namespace itk
{

template <typename TLabelImage>
void
ANUNetLargestComponentsImageFilter<TLabelImage>::SetNumberOfComponents(PixelType label, unsigned int count)
{
  const auto it = m_NumberOfComponents.find(label);
  if (it == m_NumberOfComponents.end() || it->second != count)
  {
    m_NumberOfComponents[label] = count;
    this->Modified();
  }
}

template <typename TLabelImage>
unsigned int
ANUNetLargestComponentsImageFilter<TLabelImage>::GetNumberOfComponents(PixelType label) const
{
  const auto it = m_NumberOfComponents.find(label);
  return it == m_NumberOfComponents.end() ? m_DefaultNumberOfComponents : it->second;
}

template <typename TLabelImage>
void
ANUNetLargestComponentsImageFilter<TLabelImage>::SetComponentsFromLabelMapping(const anunet::LabelMapping & mapping)
{
  for (size_t k = 0; k < mapping.classes.size(); ++k)
  {
    this->SetNumberOfComponents(static_cast<PixelType>(k + 1), static_cast<unsigned int>(mapping.classes[k].size()));
  }
}

template <typename TLabelImage>
void
ANUNetLargestComponentsImageFilter<TLabelImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  if (auto * input = const_cast<ImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TLabelImage>
void
ANUNetLargestComponentsImageFilter<TLabelImage>::EnlargeOutputRequestedRegion(DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TLabelImage>
void
ANUNetLargestComponentsImageFilter<TLabelImage>::GenerateData()
{
  using MaskType = Image<unsigned char, ImageDimension>;
  using ComponentImageType = Image<SizeValueType, ImageDimension>;

  const ImageType * input = this->GetInput();
  ImageType *       output = this->GetOutput();
  this->AllocateOutputs();
  const auto region = output->GetRequestedRegion();
  ImageAlgorithm::Copy(input, output, region, region);

  std::set<PixelType> labels;
  for (ImageRegionConstIterator<ImageType> it(input, region); !it.IsAtEnd(); ++it)
  {
    if (it.Get() != NumericTraits<PixelType>::ZeroValue())
    {
      labels.insert(it.Get());
    }
  }

  m_RemovedPixels.clear();
  ProgressReporter progress(this, 0, static_cast<SizeValueType>(std::max<size_t>(labels.size(), 1)));
  for (const PixelType label : labels)
  {
    m_RemovedPixels[label] = 0;
    const unsigned int keep = this->GetNumberOfComponents(label);
    if (keep > 0)
    {
      auto mask = BinaryThresholdImageFilter<ImageType, MaskType>::New();
      mask->SetInput(input);
      mask->SetLowerThreshold(label);
      mask->SetUpperThreshold(label);
      mask->SetInsideValue(1);
      mask->SetOutsideValue(0);
      auto components = ConnectedComponentImageFilter<MaskType, ComponentImageType>::New();
      components->SetInput(mask->GetOutput());
      components->SetFullyConnected(m_FullyConnected);
      auto ranked = RelabelComponentImageFilter<ComponentImageType, ComponentImageType>::New();
      ranked->SetInput(components->GetOutput());
      ranked->Update();

      ImageRegionConstIterator<ComponentImageType> rank(ranked->GetOutput(), region);
      for (ImageRegionIterator<ImageType> out(output, region); !out.IsAtEnd(); ++out, ++rank)
      {
        if (rank.Get() > keep)
        {
          out.Set(NumericTraits<PixelType>::ZeroValue());
          ++m_RemovedPixels[label];
        }
      }
    }
    progress.CompletedPixel();
  }
}

template <typename TLabelImage>
void
ANUNetLargestComponentsImageFilter<TLabelImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "DefaultNumberOfComponents: " << m_DefaultNumberOfComponents << '\n';
  for (const auto & [label, count] : m_NumberOfComponents)
  {
    os << indent << "NumberOfComponents(" << static_cast<typename NumericTraits<PixelType>::PrintType>(label)
       << "): " << count << '\n';
  }
  os << indent << "FullyConnected: " << (m_FullyConnected ? "On" : "Off") << '\n';
}

} // namespace itk

#endif
