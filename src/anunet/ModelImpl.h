// Internal header of the torch core: what stands behind the torch-free anunet::Model.
#ifndef anunet_ModelImpl_h
#define anunet_ModelImpl_h

#include "anunet/Model.h"

#include "SegmentationNetwork.h"

#include <c10/core/Device.h>

#include <memory>

namespace torch::jit
{
struct Module;
} // namespace torch::jit

namespace anunet
{

struct Model::Impl
{
  NetworkOptions  options;
  Preprocessing   preprocessing;
  TrainingSummary training;
  /** The network built by makeNetwork(); null when a TorchScript module is run instead. */
  SegmentationNetwork network;
  /** A loaded TorchScript module (Model::load of a traced/scripted file); its forward returns probabilities. */
  std::shared_ptr<torch::jit::Module> script;
  /** Pruning level the TorchScript module computes (0 = full network or unknown). */
  int scriptLevel = 0;
  /** Output channels of the TorchScript module (from metadata or a probe). */
  int scriptOutputChannels = 1;
  /** Intra-op threads for run(); 0 = hardware threads. */
  int         threads = 0;
  c10::Device device = c10::Device(c10::DeviceType::CPU);
};

} // namespace anunet

#endif
