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
#ifndef itkANUNetModel_h
#define itkANUNetModel_h

#include "ANUNetExport.h"
#include "itkDataObject.h"
#include "itkObjectFactory.h"
#include "anunet/Model.h"

#include <memory>
#include <string>

namespace itk
{

/** \class ANUNetModel
 * \brief A trained network and its metadata (architecture, preprocessing, label map), as a pipeline
 * DataObject.
 *
 * This lets a model travel between process objects like an image: ANUNetTrainingFilter produces one,
 * ANUNetSegmentationImageFilter takes one as its "ModelInput". It wraps the torch-free anunet::Model
 * facade, so that code using it never compiles a LibTorch header. anunet::Model is a shared handle:
 * SetModel() holds the same model as the caller (no weights are copied), and a change made through either is
 * seen by both; hold anunet::Model::clone() for an independent copy.
 *
 * \ingroup ANUNet
 */
class ANUNet_EXPORT ANUNetModel : public DataObject
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ANUNetModel);

  using Self = ANUNetModel;
  using Superclass = DataObject;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(ANUNetModel, DataObject);

  /** Reads a checkpoint or a TorchScript file. Throws an ExceptionObject naming the file and the problem;
   * on failure the object keeps what it held before. */
  void
  Load(const std::string & fileName);

  /** Holds model (sharing its weights) and forgets the file name. */
  void
  SetModel(const anunet::Model & model);

  /** The held model; throws an ExceptionObject when there is none. */
  const anunet::Model &
  GetModel() const;
  anunet::Model &
  GetModel();

  bool
  HasModel() const
  {
    return m_Model != nullptr;
  }

  /** The file the model was loaded from; empty when it came from SetModel(). */
  itkGetStringMacro(FileName);

  /** What the held model is, for ITK Python (SWIG does not wrap anunet::Model); each throws without a model. */
  std::string
  GetArchitecture() const;
  /** The deepest pruning level (4 for ANU-Net and UNet++, 0 for networks without levels). */
  int
  GetMaximumLevel() const;
  /** Parameters of the network pruned to level (0: the whole network). */
  int64_t
  GetNumberOfParameters(int level = 0) const;

  /** Drops the model. */
  void
  Initialize() override;

  /** Shares the model of another ANUNetModel (used by filters that produce one). */
  void
  Graft(const DataObject * data) override;

protected:
  ANUNetModel() = default;
  ~ANUNetModel() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  std::unique_ptr<anunet::Model> m_Model;
  std::string                    m_FileName;
};

} // namespace itk

#endif
