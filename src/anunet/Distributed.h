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
// Internal header of the torch core: never included by public headers.
#ifndef anunet_Distributed_h
#define anunet_Distributed_h

#include "anunet/Training.h"

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <vector>

namespace anunet
{

/** The ranks of one data-parallel training run: a c10d TCPStore rendezvous and a Gloo process group.
 *
 * Every collective is blocking and ends in an error, never a hang: a rank that died, or one that never
 * came, makes the others throw std::runtime_error after DistributedOptions::timeoutSeconds at most. */
class Communicator
{
public:
  /** Meets the other ranks; throws std::runtime_error naming the address, port and rank when they cannot be
   * reached. */
  explicit Communicator(const DistributedOptions & options, const c10::Device & device = c10::Device(c10::kCPU));
  ~Communicator();
  Communicator(const Communicator &) = delete;
  Communicator &
  operator=(const Communicator &) = delete;

  int
  rank() const;
  int
  size() const;

  /** Sums a dense tensor over the ranks, in place. */
  void
  allReduceSum(at::Tensor & tensor);
  /** Replaces each tensor by rank 0's, in place. */
  void
  broadcastFromFirst(const std::vector<at::Tensor> & tensors);
  /** Averages the gradients of the parameters over the ranks, in buckets of at most BucketBytes, so that a
   * network costs a few collectives per step, not one per tensor. An undefined gradient counts as zeros. */
  void
  averageGradients(const std::vector<at::Tensor> & parameters);
  /** True on every rank when it is true on any. */
  bool
  any(bool value);

  /** Wall time spent in collectives since the last call of this function. */
  double
  takeCommunicationSeconds();

  static constexpr int64_t BucketBytes = 25 << 20; ///< torch.nn.parallel.DistributedDataParallel's default

private:
  struct Impl;
  std::unique_ptr<Impl> m_Impl;
};

/** Makes a communicator the one that batch statistics are summed over on this thread, for a scope (a
 * training step's forward and backward pass). Without one, everything below is the one-process code. */
class ActiveCommunicator
{
public:
  ActiveCommunicator(Communicator * communicator, bool synchronisedBatchNorm);
  ~ActiveCommunicator();
  ActiveCommunicator(const ActiveCommunicator &) = delete;
  ActiveCommunicator &
  operator=(const ActiveCommunicator &) = delete;

private:
  Communicator * m_Previous;
  bool           m_PreviousBatchNorm;
};

/** The sum over the ranks of a batch statistic computed on this rank's share of the batch; differentiable
 * (its gradient is summed over the ranks too, since each rank's backward pass sees only the part of the
 * loss that flows through its own samples). The identity without an active communicator. */
at::Tensor
batchSum(const at::Tensor & localSum);

/** The mean of values over the whole batch of all ranks (the shares are equal); values.mean() without an
 * active communicator. */
at::Tensor
batchMean(const at::Tensor & values);

/** Whether batch normalisation's statistics are being summed over ranks on this thread. */
bool
batchNormIsDistributed();

/** The number of ranks batch statistics are summed over on this thread (1 without a communicator). */
int
batchRanks();

} // namespace anunet

#endif
