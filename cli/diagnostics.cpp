#include "cli/diagnostics.hpp"

#include <cerrno>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <system_error>

#include "actorio/io_error.hpp"
#include "cli/interrupt.hpp"

namespace actorio::cli {

void report_message(std::string_view text) {
  // After Ctrl-C the failures are the cancellations themselves: not worth a line each.
  if (interrupted())
    return;
  std::string line = "actorio: ";
  line += text;
  line += '\n';
  std::cerr << line << std::flush;
}

void report_error(std::string_view path, int code) {
  std::string text(path);
  if (!text.empty())
    text += ": ";
  text += std::strerror(code);
  report_message(text);
}

void report_failure(std::string_view path, const failure& why) {
  std::string name(path.empty() ? std::string_view{why.path} : path);
  // EINVAL and friends from argument checks carry the reason in `detail`; for plain I/O errors
  // strerror is what users (and scripts comparing with coreutils) expect.
  if (why.code == EINVAL && !why.detail.empty()) {
    report_message(name.empty() ? why.detail : name + ": " + why.detail);
    return;
  }
  if (!name.empty()) {
    report_error(name, why.code);
    return;
  }
  // Nothing to name (a runtime that could not start): what was being done says more. A detail
  // taken from an exception's what() may carry our prefix and the strerror text already.
  std::string_view detail = why.detail;
  if (detail.rfind("actorio: ", 0) == 0)
    detail.remove_prefix(9);
  if (detail.find(std::strerror(why.code)) != std::string_view::npos) {
    report_message(detail);
    return;
  }
  report_error(detail.empty() ? std::string_view{why.op} : detail, why.code);
}

failure failure_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const io_error& x) {
    return x.why();
  } catch (const std::system_error& x) {
    return failure{x.code().value(), "", "", x.what()};
  } catch (const std::exception& x) {
    return failure{EIO, "", "", x.what()};
  }
}

} // namespace actorio::cli
