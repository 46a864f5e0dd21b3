// Runs one command and reports its wall time and peak RSS, for bench/run.
//
//   run_measured REPORT_FILE COMMAND [ARGS...]
//
// Writes {"seconds", "cpu_seconds" (user + system), "maxrss_kib", "exit_code"} to REPORT_FILE; the
// command's stdin is /dev/null and its stdout and stderr are this process's. Exit status: the
// command's, or 127 if it could not be started.
//
// Why not Python's os.wait4 directly: exec records the *old* address space's peak RSS into the
// process's ru_maxrss, so a command forked from the Python harness (tens of MiB) would never
// report less than the harness itself. Forked from this small program, the floor is a couple of
// MiB.
#include <cerrno>
#include <cstdio>
#include <ctime>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fputs("usage: run_measured REPORT_FILE COMMAND [ARGS...]\n", stderr);
    return 2;
  }
  timespec start{}, end{};
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("run_measured: fork");
    return 127;
  }
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0)
      ::dup2(null, 0);
    ::execvp(argv[2], argv + 2);
    std::perror("run_measured: exec");
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0)
    if (errno != EINTR) {
      std::perror("run_measured: wait4");
      return 127;
    }
  ::clock_gettime(CLOCK_MONOTONIC, &end);
  double seconds = static_cast<double>(end.tv_sec - start.tv_sec) +
                   static_cast<double>(end.tv_nsec - start.tv_nsec) * 1e-9;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::FILE* report = std::fopen(argv[1], "w");
  if (report == nullptr) {
    std::perror("run_measured: report file");
    return 127;
  }
  auto cpu = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  std::fprintf(
    report, "{\"seconds\": %.6f, \"cpu_seconds\": %.6f, \"maxrss_kib\": %ld, \"exit_code\": %d}\n",
    seconds, cpu(usage.ru_utime) + cpu(usage.ru_stime), usage.ru_maxrss, code);
  std::fclose(report);
  return code;
}
