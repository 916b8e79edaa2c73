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
#include "anunet/Losses.h"

#include "Distributed.h"

#include <ATen/ATen.h>

#include <sstream>
#include <stdexcept>

namespace anunet
{
namespace
{

/** Both sides of a loss as K-class maps, K = 2 for a binary task (channel 0 = background). */
struct ClassMaps
{
  at::Tensor logProbabilities; ///< N x K x H x W
  at::Tensor probabilities;    ///< N x K x H x W
  at::Tensor target;           ///< N x K x H x W, same dtype as the logits
};

std::string
shapeOf(const at::Tensor & t)
{
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

ClassMaps
toClassMaps(const at::Tensor & logits, const at::Tensor & target)
{
  if (logits.dim() != 4 || logits.size(1) < 1)
  {
    throw std::invalid_argument("loss: logits must be N x C x H x W, got " + shapeOf(logits));
  }
  if (!at::isFloatingType(logits.scalar_type()))
  {
    throw std::invalid_argument("loss: logits must be floating point");
  }
  const int64_t channels = logits.size(1);
  const bool    binary = channels == 1;
  ClassMaps     maps;
  if (binary)
  {
    // log(1 - sigmoid(z)) = log_sigmoid(-z): exact in the tails, unlike log(1 - Y).
    maps.logProbabilities = at::cat({ at::log_sigmoid(-logits), at::log_sigmoid(logits) }, 1);
  }
  else
  {
    maps.logProbabilities = at::log_softmax(logits, 1);
  }
  maps.probabilities = maps.logProbabilities.exp();

  const int64_t classes = binary ? 2 : channels;
  if (at::isFloatingType(target.scalar_type()))
  {
    if (target.sizes() != logits.sizes())
    {
      throw std::invalid_argument("loss: a probability target must have the logits' shape " + shapeOf(logits) +
                                  ", got " + shapeOf(target));
    }
    const at::Tensor t = target.to(logits.scalar_type());
    maps.target = binary ? at::cat({ 1 - t, t }, 1) : t;
  }
  else
  {
    if (target.dim() != 3 || target.size(0) != logits.size(0) || target.size(1) != logits.size(2) ||
        target.size(2) != logits.size(3))
    {
      throw std::invalid_argument("loss: a class-index target must be N x H x W matching logits " + shapeOf(logits) +
                                  ", got " + shapeOf(target));
    }
    if (target.numel() > 0)
    {
      const auto range = at::aminmax(target);
      const auto low = std::get<0>(range).item<int64_t>();
      const auto high = std::get<1>(range).item<int64_t>();
      if (low < 0 || high >= classes)
      {
        throw std::invalid_argument("loss: class indices must lie in [0, " + std::to_string(classes - 1) + "], got [" +
                                    std::to_string(low) + ", " + std::to_string(high) + "]");
      }
    }
    maps.target = at::one_hot(target.to(at::kLong), classes).permute({ 0, 3, 1, 2 }).to(logits.scalar_type());
  }
  return maps;
}

/** Mean over foreground classes of the Dice ratio; sums over the whole batch or per sample. */
at::Tensor
diceCoefficient(const ClassMaps & maps, double smooth, bool squared, bool perSample)
{
  const int64_t k = maps.probabilities.size(1);
  const auto    y = maps.probabilities.narrow(1, 1, k - 1);
  const auto    t = maps.target.narrow(1, 1, k - 1);
  if (perSample)
  {
    const std::vector<int64_t> dims{ 2, 3 };
    const auto                 intersection = (y * t).sum(dims);
    const auto denominator = squared ? (y * y).sum(dims) + (t * t).sum(dims) : y.sum(dims) + t.sum(dims);
    return batchMean((2 * intersection + smooth) / (denominator + smooth));
  }
  // Batch sums: over the ranks' shares too in a distributed step, so that the Dice is the whole batch's.
  const std::vector<int64_t> dims{ 0, 2, 3 };
  const auto                 intersection = batchSum((y * t).sum(dims));
  const auto denominator = batchSum(squared ? (y * y).sum(dims) + (t * t).sum(dims) : y.sum(dims) + t.sum(dims));
  return ((2 * intersection + smooth) / (denominator + smooth)).mean();
}

at::Tensor
crossEntropy(const ClassMaps & maps)
{
  return batchMean(-(maps.target * maps.logProbabilities).sum(1));
}

} // namespace

torch::Tensor
hybridLoss(const torch::Tensor & logits, const torch::Tensor & target, const HybridLossOptions & options)
{
  if (!(options.epsilon > 0.0))
  {
    throw std::invalid_argument("hybrid loss: epsilon must be positive");
  }
  const ClassMaps maps = toClassMaps(logits, target);
  at::Tensor      distance = (maps.probabilities - 0.5).abs();
  if (options.detachWeight)
  {
    distance = distance.detach();
  }
  const auto weight = (0.25 + options.epsilon) / (distance.pow(options.gamma) + options.epsilon);
  const auto weightedCrossEntropy = batchMean(-(weight * maps.target * maps.logProbabilities).sum(1));
  const auto dice = diceCoefficient(maps, options.smooth, /*squared=*/true, /*perSample=*/false);
  return (1 - dice) + options.alpha * weightedCrossEntropy;
}

torch::Tensor
bceDiceLoss(const torch::Tensor & logits, const torch::Tensor & target)
{
  const ClassMaps maps = toClassMaps(logits, target);
  return 0.5 * crossEntropy(maps) + (1 - diceCoefficient(maps, 1e-5, /*squared=*/false, /*perSample=*/true));
}

torch::Tensor
diceLoss(const torch::Tensor & logits, const torch::Tensor & target, double smooth)
{
  const ClassMaps maps = toClassMaps(logits, target);
  return 1 - diceCoefficient(maps, smooth, /*squared=*/false, /*perSample=*/false);
}

torch::Tensor
focalLoss(const torch::Tensor & logits, const torch::Tensor & target, double alpha, double gamma)
{
  const ClassMaps maps = toClassMaps(logits, target);
  const int64_t   k = maps.probabilities.size(1);
  auto            classWeight = at::full({ 1, k, 1, 1 }, alpha, logits.options());
  classWeight.narrow(1, 0, 1).fill_(1 - alpha);
  // For gamma < 1 the derivative of (1 - Y)^gamma is infinite at Y = 1: keep pow() off 0 there.
  auto oneMinus = 1 - maps.probabilities;
  if (gamma < 1)
  {
    oneMinus = oneMinus.clamp_min(1e-12);
  }
  const auto modulation = oneMinus.pow(gamma);
  return batchMean(-(classWeight * modulation * maps.target * maps.logProbabilities).sum(1));
}

torch::Tensor
bceLoss(const torch::Tensor & logits, const torch::Tensor & target)
{
  return crossEntropy(toClassMaps(logits, target));
}

const std::vector<std::string> &
lossNames()
{
  static const std::vector<std::string> names{ "hybrid", "bce-dice", "dice", "focal", "bce" };
  return names;
}

LossFunction
makeLoss(const std::string & name)
{
  if (name == "hybrid")
  {
    return [](const torch::Tensor & z, const torch::Tensor & t) { return hybridLoss(z, t); };
  }
  if (name == "bce-dice")
  {
    return bceDiceLoss;
  }
  if (name == "dice")
  {
    return [](const torch::Tensor & z, const torch::Tensor & t) { return diceLoss(z, t); };
  }
  if (name == "focal")
  {
    return [](const torch::Tensor & z, const torch::Tensor & t) { return focalLoss(z, t); };
  }
  if (name == "bce")
  {
    return bceLoss;
  }
  std::string valid;
  for (const auto & n : lossNames())
  {
    valid += (valid.empty() ? "" : ", ") + n;
  }
  throw std::invalid_argument("unknown loss '" + name + "'; valid names: " + valid);
}

DeepSupervisionLoss::DeepSupervisionLoss(LossFunction loss, std::vector<double> weights)
  : m_Loss(std::move(loss))
  , m_Weights(std::move(weights))
{
  if (!m_Loss)
  {
    throw std::invalid_argument("deep-supervision loss: no loss function given");
  }
}

torch::Tensor
DeepSupervisionLoss::operator()(const std::vector<torch::Tensor> & heads, const torch::Tensor & target) const
{
  if (heads.empty())
  {
    throw std::invalid_argument("deep-supervision loss: the network returned no heads");
  }
  if (!m_Weights.empty() && m_Weights.size() != heads.size())
  {
    throw std::invalid_argument("deep-supervision loss: " + std::to_string(m_Weights.size()) +
                                " head weights given for a network with " + std::to_string(heads.size()) + " heads");
  }
  const double equal = 1.0 / static_cast<double>(heads.size());
  at::Tensor   total;
  for (size_t i = 0; i < heads.size(); ++i)
  {
    const double weight = m_Weights.empty() ? equal : m_Weights[i];
    const auto   term = weight * m_Loss(heads[i], target);
    total = total.defined() ? total + term : term;
  }
  return total;
}

} // namespace anunet
