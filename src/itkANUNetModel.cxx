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
#include "itkANUNetModel.h"

#include <exception>

namespace itk
{

void
ANUNetModel::Load(const std::string & fileName)
{
  if (fileName.empty())
  {
    itkExceptionMacro("No model file name given");
  }
  try
  {
    m_Model = std::make_unique<anunet::Model>(anunet::Model::load(fileName));
  }
  catch (const std::exception & e)
  {
    itkExceptionMacro("Cannot load the model file '" << fileName << "': " << e.what());
  }
  m_FileName = fileName;
  this->Modified();
}

void
ANUNetModel::SetModel(const anunet::Model & model)
{
  m_Model = std::make_unique<anunet::Model>(model);
  m_FileName.clear();
  this->Modified();
}

const anunet::Model &
ANUNetModel::GetModel() const
{
  if (!m_Model)
  {
    itkExceptionMacro("This ANUNetModel holds no network: call Load() or SetModel(), or update the filter "
                      "that produces it");
  }
  return *m_Model;
}

std::string
ANUNetModel::GetArchitecture() const
{
  return anunet::toString(this->GetModel().options().architecture);
}

int
ANUNetModel::GetMaximumLevel() const
{
  return this->GetModel().maximumLevel();
}

int64_t
ANUNetModel::GetNumberOfParameters(int level) const
{
  return this->GetModel().parameterCount(level);
}

anunet::Model &
ANUNetModel::GetModel()
{
  return const_cast<anunet::Model &>(static_cast<const Self *>(this)->GetModel());
}

void
ANUNetModel::Initialize()
{
  Superclass::Initialize();
  m_Model.reset();
  m_FileName.clear();
}

void
ANUNetModel::Graft(const DataObject * data)
{
  if (data == nullptr)
  {
    return;
  }
  const auto * other = dynamic_cast<const Self *>(data);
  if (other == nullptr)
  {
    itkExceptionMacro("Cannot graft a " << data->GetNameOfClass() << " onto an ANUNetModel");
  }
  m_Model = other->m_Model ? std::make_unique<anunet::Model>(*other->m_Model) : nullptr;
  m_FileName = other->m_FileName;
}

void
ANUNetModel::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "FileName: " << (m_FileName.empty() ? "(none)" : m_FileName) << '\n';
  if (!m_Model)
  {
    os << indent << "Model: (none)\n";
    return;
  }
  const anunet::NetworkOptions & options = m_Model->options();
  const anunet::Preprocessing &  preprocessing = m_Model->preprocessing();
  os << indent << "Architecture: " << anunet::toString(options.architecture) << '\n';
  os << indent << "InputChannels: " << options.inputChannels << '\n';
  os << indent << "Classes: " << options.classes << '\n';
  os << indent << "MaximumLevel: " << m_Model->maximumLevel() << '\n';
  os << indent << "TorchScript: " << (m_Model->isTorchScript() ? "yes" : "no") << '\n';
  os << indent << "Intensity: " << anunet::toString(preprocessing.intensity.method) << '\n';
  os << indent << "NetworkSize: " << preprocessing.width << " x " << preprocessing.height << '\n';
  os << indent << "SliceAxis: " << preprocessing.sliceAxis << '\n';
  os << indent << "Device: " << m_Model->device() << '\n';
}

} // namespace itk
