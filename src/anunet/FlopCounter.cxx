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
#include "FlopCounter.h"

#include <ATen/record_function.h>

#include <cstring>
#include <stdexcept>

namespace anunet
{

namespace
{
// RecordFunction callbacks are plain function pointers: the running sum lives in a thread-local, and the
// callback is thread-local too, so concurrent counts on other threads do not mix.
thread_local FlopCount * activeCount = nullptr;

std::unique_ptr<at::ObserverContext>
onOperatorStart(const at::RecordFunction & record)
{
  if (activeCount == nullptr || std::strcmp(record.name(), "aten::convolution") != 0)
  {
    return nullptr;
  }
  // aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
  const auto inputs = record.inputs();
  if (inputs.size() < 9 || !inputs[0].isTensor() || !inputs[1].isTensor())
  {
    return nullptr;
  }
  const auto & input = inputs[0].toTensor();
  const auto & weight = inputs[1].toTensor();
  const bool   transposed = inputs[6].toBool();
  double       positions = static_cast<double>(input.size(0));
  if (transposed)
  {
    // weight: Cin x Cout/groups x kh x kw; every input pixel scatters Cout.k^2 products.
    for (int64_t d = 2; d < input.dim(); ++d)
    {
      positions *= static_cast<double>(input.size(d));
    }
  }
  else
  {
    // weight: Cout x Cin/groups x kh x kw; every output pixel gathers Cin.k^2 products per output channel.
    const auto stride = inputs[3].toIntVector();
    const auto padding = inputs[4].toIntVector();
    const auto dilation = inputs[5].toIntVector();
    for (int64_t d = 2; d < input.dim(); ++d)
    {
      const size_t  k = static_cast<size_t>(d - 2);
      const int64_t extent = dilation[k] * (weight.size(d) - 1) + 1;
      positions *= static_cast<double>((input.size(d) + 2 * padding[k] - extent) / stride[k] + 1);
    }
  }
  activeCount->flops += 2.0 * positions * static_cast<double>(weight.numel());
  ++activeCount->convolutions;
  return nullptr;
}

/** Installs the callback for the lifetime of the object. */
class ConvolutionRecorder
{
public:
  explicit ConvolutionRecorder(FlopCount & count)
  {
    activeCount = &count;
    m_Handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&onOperatorStart).needsInputs(true).scopes({ at::RecordScope::FUNCTION }));
  }
  ~ConvolutionRecorder()
  {
    at::removeCallback(m_Handle);
    activeCount = nullptr;
  }
  ConvolutionRecorder(const ConvolutionRecorder &) = delete;
  ConvolutionRecorder &
  operator=(const ConvolutionRecorder &) = delete;

private:
  at::CallbackHandle m_Handle = at::INVALID_CALLBACK_HANDLE;
};
} // namespace

FlopCount
measureForwardFlops(SegmentationNetworkImpl & network, int level, int64_t height, int64_t width)
{
  const bool wasTraining = network.is_training();
  network.eval();
  FlopCount count;
  {
    torch::NoGradGuard noGrad;
    const auto         input =
      torch::zeros({ 1, network.options().inputChannels, height, width }, network.parameters()[0].options());
    ConvolutionRecorder recorder(count);
    network.forwardLogits(input, level);
  }
  if (wasTraining)
  {
    network.train();
  }
  if (count.convolutions == 0)
  {
    // RecordFunction disabled in this build or process: better an error than a table of zeros.
    throw std::runtime_error("FLOP count: no convolution was recorded (is at::RecordFunction disabled?)");
  }
  return count;
}

FlopCount
forwardFlops(SegmentationNetworkImpl & network, int level, int64_t height, int64_t width)
{
  if (height < SpatialMultiple || width < SpatialMultiple || height % SpatialMultiple != 0 ||
      width % SpatialMultiple != 0)
  {
    throw std::invalid_argument("FLOP count: height and width must be positive multiples of " +
                                std::to_string(SpatialMultiple) + ", got " + std::to_string(height) + " x " +
                                std::to_string(width));
  }
  auto count = measureForwardFlops(network, level, SpatialMultiple, SpatialMultiple);
  count.flops *= static_cast<double>(height * width) / (SpatialMultiple * SpatialMultiple);
  return count;
}

} // namespace anunet
