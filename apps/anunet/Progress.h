#ifndef anunet_cli_Progress_h
#define anunet_cli_Progress_h

#include <chrono>
#include <string>

namespace anunet::cli
{

/** A one-line progress bar on stderr; plain lines instead when stderr is not a terminal (logs, CI). */
class ProgressBar
{
public:
  explicit ProgressBar(std::string label);

  /** fraction in [0, 1]; secondsRemaining < 0 lets the bar estimate it from the elapsed time. */
  void
  update(double fraction, const std::string & text = {}, double secondsRemaining = -1.0);

  /** A line printed above the bar (e.g. an epoch summary). */
  void
  message(const std::string & text);

  void
  finish();

private:
  std::string                           m_Label;
  std::chrono::steady_clock::time_point m_Start;
  std::chrono::steady_clock::time_point m_LastPlainLine;
  bool                                  m_Terminal;
  bool                                  m_Drawn = false;
  double                                m_Fraction = 0.0;
};

std::string
formatNumber(double value, int decimals);

std::string
formatDuration(double seconds);

} // namespace anunet::cli

#endif
