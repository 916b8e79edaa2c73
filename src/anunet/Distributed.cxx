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
#include "Distributed.h"

#include <torch/autograd.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef ANUNET_WITH_NCCL
#  include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/utils/tensor_flatten.h>
#include <torch/version.h>

#include <c10/util/Exception.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

namespace anunet
{
namespace
{

using Clock = std::chrono::steady_clock;

#if TORCH_VERSION_MAJOR >= 2
using ProcessGroupBase = c10d::Backend; // LibTorch 2 made Gloo and NCCL backends of a c10d::ProcessGroup
#else
using ProcessGroupBase = c10d::ProcessGroup;
#endif

thread_local Communicator * t_Active = nullptr;
thread_local bool           t_SynchronisedBatchNorm = false;

/** c10's messages carry a C++ backtrace that tells a user nothing. */
std::string
messageOf(const std::exception & e)
{
  const auto * error = dynamic_cast<const c10::Error *>(&e);
  return error != nullptr ? error->what_without_backtrace() : e.what();
}

std::string
whoAmI(const DistributedOptions & o)
{
  return "distributed training, rank " + std::to_string(o.rank) + " of " + std::to_string(o.worldSize);
}

/** Forward: the sum over ranks. Backward: the sum over ranks of the gradients, because each rank holds the
 * gradient of the loss only through its own share of the batch. The communicator travels in the context as
 * an integer: AutogradContext keeps IValues only, and the communicator outlives every graph of its run. */
struct AllReduceSumFunction : public torch::autograd::Function<AllReduceSumFunction>
{
  static at::Tensor
  forward(torch::autograd::AutogradContext * context, const at::Tensor & local, Communicator * communicator)
  {
    context->saved_data["communicator"] = reinterpret_cast<int64_t>(communicator);
    at::Tensor total = local.detach().contiguous().clone();
    communicator->allReduceSum(total);
    return total;
  }

  static torch::autograd::variable_list
  backward(torch::autograd::AutogradContext * context, torch::autograd::variable_list gradients)
  {
    auto *     communicator = reinterpret_cast<Communicator *>(context->saved_data["communicator"].toInt());
    at::Tensor total = gradients[0].contiguous().clone();
    communicator->allReduceSum(total);
    return { total, at::Tensor() };
  }
};

} // namespace

struct Communicator::Impl
{
  DistributedOptions                   options;
  c10::Device                          device = c10::Device(c10::kCPU); ///< where the collectives' tensors live
  c10::intrusive_ptr<c10d::Store>      store;
  c10::intrusive_ptr<ProcessGroupBase> group;
  double                               seconds = 0.0;

  /** Waits for a collective; a failure names the rank and what the others are likely doing. */
  void
  wait(const c10::intrusive_ptr<c10d::Work> & work, const char * what)
  {
    const auto start = Clock::now();
    try
    {
      work->wait();
    }
    catch (const std::exception & e)
    {
      throw std::runtime_error(whoAmI(options) + ": " + what +
                               " failed (another rank has probably stopped or died): " + messageOf(e));
    }
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
  }
};

Communicator::Communicator(const DistributedOptions & options, const c10::Device & device)
  : m_Impl(std::make_unique<Impl>())
{
  options.validate();
  m_Impl->options = options;
  m_Impl->device = device;
  const auto        timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeoutSeconds * 1000.0));
  const std::string where = options.masterAddress + ":" + std::to_string(options.masterPort);
  try
  {
    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = static_cast<std::uint16_t>(options.masterPort);
    storeOptions.isServer = options.rank == 0;
    storeOptions.numWorkers = static_cast<std::size_t>(options.worldSize);
    storeOptions.waitWorkers = true;
    storeOptions.timeout = timeout;
    m_Impl->store = c10::make_intrusive<c10d::TCPStore>(options.masterAddress, storeOptions);
#ifdef ANUNET_WITH_NCCL
    if (device.is_cuda())
    {
      auto ncclOptions = c10d::ProcessGroupNCCL::Options::create();
      ncclOptions->timeout = timeout;
      m_Impl->group =
        c10::make_intrusive<c10d::ProcessGroupNCCL>(m_Impl->store, options.rank, options.worldSize, ncclOptions);
      return;
    }
#endif
    // Gloo also reduces CUDA tensors (through host memory) where LibTorch was built with CUDA but without NCCL.
    auto groupOptions = c10d::ProcessGroupGloo::Options::create(timeout);
    // As torch.distributed: GLOO_SOCKET_IFNAME picks the interface; otherwise the address the host name
    // resolves to, or the loopback device on a machine whose name does not resolve.
    const char * interface = std::getenv("GLOO_SOCKET_IFNAME");
    groupOptions->devices.push_back(interface != nullptr && *interface != '\0'
                                      ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                                      : c10d::ProcessGroupGloo::createDefaultDevice());
    m_Impl->group =
      c10::make_intrusive<c10d::ProcessGroupGloo>(m_Impl->store, options.rank, options.worldSize, groupOptions);
  }
  catch (const std::exception & e)
  {
    std::ostringstream seconds;
    seconds << options.timeoutSeconds;
    throw std::runtime_error(whoAmI(options) + ": cannot meet the other ranks at " + where +
                             " (MASTER_ADDR:MASTER_PORT) within " + seconds.str() + " s: " + messageOf(e));
  }
}

Communicator::~Communicator() = default;

int
Communicator::rank() const
{
  return m_Impl->options.rank;
}

int
Communicator::size() const
{
  return m_Impl->options.worldSize;
}

void
Communicator::allReduceSum(at::Tensor & tensor)
{
  std::vector<at::Tensor> tensors{ tensor };
  m_Impl->wait(m_Impl->group->allreduce(tensors), "an all-reduce");
}

void
Communicator::broadcastFromFirst(const std::vector<at::Tensor> & tensors)
{
  if (tensors.empty())
  {
    return;
  }
  std::vector<at::Tensor> flat{ torch::utils::flatten_dense_tensors(tensors) };
  m_Impl->wait(m_Impl->group->broadcast(flat), "the broadcast of the weights");
  const auto parts = torch::utils::unflatten_dense_tensors(flat.front(), tensors);
  for (size_t i = 0; i < tensors.size(); ++i)
  {
    at::Tensor target = tensors[i];
    target.copy_(parts[i]);
  }
}

void
Communicator::averageGradients(const std::vector<at::Tensor> & parameters)
{
  const double scale = 1.0 / static_cast<double>(size());
  size_t       first = 0;
  while (first < parameters.size())
  {
    // One bucket: consecutive parameters up to BucketBytes (at least one).
    size_t  last = first;
    int64_t bytes = 0;
    while (last < parameters.size() &&
           (last == first || bytes + parameters[last].numel() * static_cast<int64_t>(sizeof(float)) <= BucketBytes))
    {
      bytes += parameters[last].numel() * static_cast<int64_t>(sizeof(float));
      ++last;
    }
    std::vector<at::Tensor> gradients;
    for (size_t i = first; i < last; ++i)
    {
      const at::Tensor & g = parameters[i].grad();
      gradients.push_back(g.defined() ? g : at::zeros_like(parameters[i]));
    }
    std::vector<at::Tensor> flat{ torch::utils::flatten_dense_tensors(gradients) };
    m_Impl->wait(m_Impl->group->allreduce(flat), "the all-reduce of the gradients");
    flat.front().mul_(scale);
    const auto parts = torch::utils::unflatten_dense_tensors(flat.front(), gradients);
    for (size_t i = first; i < last; ++i)
    {
      at::Tensor parameter = parameters[i];
      if (parameter.grad().defined())
      {
        parameter.mutable_grad().copy_(parts[i - first]);
      }
      else
      {
        parameter.mutable_grad() = parts[i - first].clone();
      }
    }
    first = last;
  }
}

bool
Communicator::any(bool value)
{
  at::Tensor flag = at::full({ 1 }, value ? 1.0f : 0.0f, at::TensorOptions().device(m_Impl->device));
  allReduceSum(flag);
  return flag.item<float>() > 0.0f;
}

double
Communicator::takeCommunicationSeconds()
{
  const double seconds = m_Impl->seconds;
  m_Impl->seconds = 0.0;
  return seconds;
}

ActiveCommunicator::ActiveCommunicator(Communicator * communicator, bool synchronisedBatchNorm)
  : m_Previous(t_Active)
  , m_PreviousBatchNorm(t_SynchronisedBatchNorm)
{
  t_Active = communicator;
  t_SynchronisedBatchNorm = synchronisedBatchNorm;
}

ActiveCommunicator::~ActiveCommunicator()
{
  t_Active = m_Previous;
  t_SynchronisedBatchNorm = m_PreviousBatchNorm;
}

bool
batchNormIsDistributed()
{
  return t_Active != nullptr && t_SynchronisedBatchNorm;
}

int
batchRanks()
{
  return t_Active == nullptr ? 1 : t_Active->size();
}

at::Tensor
batchSum(const at::Tensor & localSum)
{
  if (t_Active == nullptr)
  {
    return localSum;
  }
  return AllReduceSumFunction::apply(localSum, t_Active);
}

at::Tensor
batchMean(const at::Tensor & values)
{
  if (t_Active == nullptr)
  {
    return values.mean();
  }
  return batchSum(values.sum()) / static_cast<double>(values.numel() * t_Active->size());
}

} // namespace anunet
