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
#ifndef itkANUNetLargestComponentsImageFilter_h
#define itkANUNetLargestComponentsImageFilter_h

#include "itkImageToImageFilter.h"
#include "anunet/Preprocessing.h"

#include <map>
#include <vector>

namespace itk
{

/** \class ANUNetLargestComponentsImageFilter
 * \brief Keeps the largest connected components of each label of a label image and sets the rest of that
 * label to the background (0): the post-processing that nnU-Net and MONAI users expect, which removes the
 * stray islands a slice-wise network leaves far from the organ.
 *
 * Each label keeps NumberOfComponents(label) components (default DefaultNumberOfComponents, 1; 0 keeps all).
 * SetComponentsFromLabelMapping() takes the counts from a model's label mapping: an output class made of k
 * source labels keeps k components — the CHAOS kidney task merges the two kidneys (labels 2 + 3) into one
 * class, so it keeps two. Components are found per label with ITK's ConnectedComponentImageFilter
 * (face-connected unless FullyConnected is on) and ranked by RelabelComponentImageFilter (by size; equal
 * sizes keep the order in which ITK's scan meets them).
 *
 * The whole image is processed at once (connectivity is a global property).
 *
 * \ingroup ANUNet
 */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT ANUNetLargestComponentsImageFilter : public ImageToImageFilter<TLabelImage, TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ANUNetLargestComponentsImageFilter);

  using ImageType = TLabelImage;
  using PixelType = typename ImageType::PixelType;
  static constexpr unsigned int ImageDimension = ImageType::ImageDimension;

  using Self = ANUNetLargestComponentsImageFilter;
  using Superclass = ImageToImageFilter<TLabelImage, TLabelImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(ANUNetLargestComponentsImageFilter, ImageToImageFilter);

  /** Components kept of labels without their own count; 0 keeps all. */
  itkSetMacro(DefaultNumberOfComponents, unsigned int);
  itkGetConstMacro(DefaultNumberOfComponents, unsigned int);

  /** Components kept of one label (0 keeps all). */
  void
  SetNumberOfComponents(PixelType label, unsigned int count);
  unsigned int
  GetNumberOfComponents(PixelType label) const;

  /** Counts from a label mapping: class k keeps as many components as it merges source labels. */
  void
  SetComponentsFromLabelMapping(const anunet::LabelMapping & mapping);

  /** Diagonal neighbours connect too (default off: faces only, as ITK's default). */
  itkSetMacro(FullyConnected, bool);
  itkGetConstMacro(FullyConnected, bool);
  itkBooleanMacro(FullyConnected);

  /** After Update(): voxels set to the background, per label. */
  const std::map<PixelType, SizeValueType> &
  GetRemovedPixels() const
  {
    return m_RemovedPixels;
  }

protected:
  ANUNetLargestComponentsImageFilter() = default;
  ~ANUNetLargestComponentsImageFilter() override = default;

  void
  GenerateInputRequestedRegion() override;
  void
  EnlargeOutputRequestedRegion(DataObject * output) override;
  void
  GenerateData() override;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  unsigned int                       m_DefaultNumberOfComponents = 1;
  std::map<PixelType, unsigned int>  m_NumberOfComponents;
  bool                               m_FullyConnected = false;
  std::map<PixelType, SizeValueType> m_RemovedPixels;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkANUNetLargestComponentsImageFilter.hxx"
#endif

#endif
