// An HTTP/1.1 file server that embeds actorio: one CAF broker of its own accepts TCP connections
// and serves the files beneath a root through actorio's mmap manager and maps, by message. It does
// no file system call of its own.
//
//   http_file_server --root DIR --listen 127.0.0.1:PORT     (PORT 0: the kernel picks one)
//                    [--idle-timeout S] [--send-timeout S]  (seconds; 60 and 60)
//                    [--cache-valid S] [--cache-idle S]     (1 and 60)
//                    [--cache-files N]                      (1024 maps)
//
// Files. The manager is confined to the root (`runtime_config::confine_to_root`), so a path that
// leaves it (`..`, an absolute path, a symlink out) fails with EACCES and becomes a 403: the
// server itself never judges paths. A file is opened read-only and kept open as a map, the
// server holding one reference: the manager's registry of open maps is the file cache. A cached
// file is served as it was opened (its size; its mtime for Last-Modified and ETag) for
// `cache_valid`; the next request after that asks the map for `info` first: a new mtime (written
// in place) or no links left (deleted, or renamed over) closes the map and opens the path again.
// At most `cache_files` maps stay open, the least recently used going first, and one nobody
// asked for during `cache_idle` is closed; a map a body is being read from is never closed.
//
// Timeouts. A kept-alive connection that brings no whole request within `idle_timeout` of
// waiting for one (a partial request does not count) is closed; so is one whose client took no
// byte for `send_timeout` while bytes waited for it. A broker timer (a delayed message to itself)
// looks at each connection's deadline; the socket is shut down at once, since CAF's `close`
// would first wait for the client to take what it holds.
//
// Bodies. A body is read from its map in pieces of `piece_size`; the next piece is asked for
// only while fewer than `window` bytes handed to the socket are still unwritten (CAF's write acks
// say how many), so a slow reader holds at most about `window` bytes of memory, and a reader that
// goes away holds nothing: its state is dropped with the connection and a read still in flight is
// answered into the void.
//
// Requests on one connection are handled one at a time, in order; pipelined ones wait in the
// input buffer, and reading pauses while that holds more than `max_head` bytes. The next request
// is taken only while less than `window` bytes of earlier responses are unwritten, so a client
// that sends requests and reads no answers holds bounded memory too.
//
// Threads. The broker runs in CAF's one network thread (the middleman's multiplexer). A map
// answers a read of pages already in the page cache, and `info`, in the caller's thread, so a
// warm file is served and revalidated without a thread hand-off; other reads wait on actorio's io
// workers, not here.
#include <actorio/actors.hpp>

#include <caf/io/all.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <sys/resource.h>
#include <sys/socket.h>

using namespace actorio;
using caf::io::connection_handle;

namespace {

constexpr std::size_t max_head = 8 * 1024; // request line and headers, with the blank line
constexpr std::int64_t piece_size = 256 * 1024;
constexpr std::uint64_t window = 1024 * 1024;

// -- requests -----------------------------------------------------------------------------------

/// What the server needs of a request head.
struct request {
  bool head_only = false; // HEAD rather than GET
  std::string path;       // decoded, relative to the root
  bool keep_alive = true;
  std::string range;
  std::string if_none_match;
};

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// `%XX` decoded; none for a broken escape or a NUL byte.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= s.size() || std::from_chars(&s[i + 1], &s[i + 3], value, 16).ptr != &s[i + 3])
      return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  if (out.find('\0') != std::string::npos)
    return std::nullopt;
  return out;
}

/// The request in `head` (request line and headers without the blank line), or the status that
/// refuses it: 400 (malformed) or 405 (neither GET nor HEAD).
std::variant<request, int> parse_request(std::string_view head) {
  auto eol = head.find("\r\n");
  auto line = head.substr(0, eol);
  auto sp1 = line.find(' ');
  auto sp2 = line.find(' ', sp1 == line.npos ? sp1 : sp1 + 1);
  if (sp1 == line.npos || sp2 == line.npos || line.find(' ', sp2 + 1) != line.npos)
    return 400;
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  if ((version != "HTTP/1.1" && version != "HTTP/1.0") || target.empty() || target[0] != '/')
    return 400;
  request req;
  req.keep_alive = version == "HTTP/1.1";
  std::string connection;
  bool has_body = false;
  while (eol != head.npos) {
    auto start = eol + 2;
    eol = head.find("\r\n", start);
    auto field = head.substr(start, eol == head.npos ? head.npos : eol - start);
    auto colon = field.find(':');
    if (colon == 0 || colon == field.npos || field.find_first_of(" \t") < colon)
      return 400;
    auto name = lower(field.substr(0, colon));
    auto value = trim(field.substr(colon + 1));
    if (name == "connection")
      connection = lower(value);
    else if (name == "range")
      req.range = value;
    else if (name == "if-none-match")
      req.if_none_match = value;
    else if (name == "transfer-encoding" || (name == "content-length" && value != "0"))
      has_body = true;
  }
  if (method != "GET" && method != "HEAD")
    return 405;
  if (has_body) // GET and HEAD carry none; one we do not read would be taken for the next request
    return 400;
  req.head_only = method == "HEAD";
  if (connection.find("close") != connection.npos)
    req.keep_alive = false;
  else if (connection.find("keep-alive") != connection.npos)
    req.keep_alive = true;
  auto path = percent_decode(target.substr(0, target.find_first_of("?#")));
  if (!path)
    return 400;
  req.path = path->substr(1); // the manager resolves relative paths against the root
  if (req.path.empty() || req.path.back() == '/')
    req.path += "index.html";
  return req;
}

/// The bytes a `Range` header asks for, clamped to the file. A missing, malformed or multi-range
/// header means the whole file (RFC 9110 lets a server ignore it); a range starting at or past
/// the end is unsatisfiable.
struct byte_span {
  enum { whole, part, unsatisfiable } kind = whole;
  std::uint64_t first = 0;
  std::uint64_t end = 0; // one past the last byte
};

std::optional<std::uint64_t> parse_number(std::string_view s) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size())
    return std::nullopt;
  return n;
}

byte_span parse_range(std::string_view range, std::uint64_t size) {
  byte_span whole{byte_span::whole, 0, size};
  if (range.substr(0, 6) != "bytes=" || range.find(',') != range.npos)
    return whole;
  range.remove_prefix(6);
  auto dash = range.find('-');
  if (dash == range.npos)
    return whole;
  auto first = parse_number(trim(range.substr(0, dash)));
  auto last = parse_number(trim(range.substr(dash + 1)));
  if (!first) { // "-n": the last n bytes
    if (!last)
      return whole;
    if (*last == 0 || size == 0)
      return {byte_span::unsatisfiable};
    return {byte_span::part, size - std::min(*last, size), size};
  }
  if (last && *last < *first)
    return whole;
  if (*first >= size)
    return {byte_span::unsatisfiable};
  return {byte_span::part, *first, last ? std::min(*last + 1, size) : size};
}

// -- responses ----------------------------------------------------------------------------------

const char* reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 206:
    return "Partial Content";
  case 304:
    return "Not Modified";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 416:
    return "Range Not Satisfiable";
  case 431:
    return "Request Header Fields Too Large";
  default:
    return "Internal Server Error";
  }
}

/// The status for a failed open: what the errno says about the path.
int status_for(const caf::error& err, const std::string& path) {
  switch (to_failure(err, "open", path).code) {
  case ENOENT:
  case ENOTDIR:
  case EISDIR:
    return 404;
  case EACCES: // a path that leaves the root, or one the server may not read
  case EPERM:
  case ELOOP:
    return 403;
  default:
    return 500;
  }
}

std::string http_date(std::int64_t ns) {
  std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  return {buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm)};
}

std::string etag_of(const map_info& info) {
  char buf[48];
  auto n =
    std::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(info.size),
                  static_cast<unsigned long long>(info.modified_ns));
  return {buf, static_cast<std::size_t>(n)};
}

/// Whether an `If-None-Match` list names `etag` (weak comparison) or is `*`.
bool matches(std::string_view list, std::string_view etag) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto tag = trim(list.substr(0, comma));
    if (tag.substr(0, 2) == "W/")
      tag.remove_prefix(2);
    if (tag == etag || tag == "*")
      return true;
    list = comma == list.npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

/// The status line and the headers every response has; the caller adds its own and the blank line.
std::string response_head(int status, bool keep_alive) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
         (keep_alive ? "\r\nServer: actorio-example\r\nConnection: keep-alive\r\n"
                     : "\r\nServer: actorio-example\r\nConnection: close\r\n");
}

std::string content_length(std::uint64_t n) {
  return "Content-Length: " + std::to_string(n) + "\r\n";
}

// -- the file cache -----------------------------------------------------------------------------

using clock_type = std::chrono::steady_clock;

/// What the command line sets besides the root and the address.
struct server_limits {
  clock_type::duration idle_timeout = std::chrono::seconds{60};
  clock_type::duration send_timeout = std::chrono::seconds{60};
  clock_type::duration cache_valid = std::chrono::seconds{1};
  clock_type::duration cache_idle = std::chrono::seconds{60};
  std::size_t cache_files = 1024;
};

/// One file of the cache: the server's one reference to its map.
struct cached_file {
  mapped_file_actor map;
  map_info info;
  /// Served without a second look until then.
  clock_type::time_point valid_until;
  /// Closed when not asked for during `cache_idle`.
  clock_type::time_point last_used;
  /// Bodies being read from the map: it is not closed under them.
  int transfers = 0;
  /// Its place in `server_state::recent`.
  std::list<std::string>::iterator place;
};

/// One connection: its unhandled input, the response under way and its deadlines.
struct connection {
  /// Tells this connection from an earlier one that had the same handle (the socket's number).
  std::uint64_t id = 0;
  std::string input;
  /// The body being sent: the map, the cached file it belongs to and the bytes [next, end) still
  /// to read.
  std::optional<mapped_file_actor> body;
  std::string body_path;
  std::uint64_t next = 0;
  std::uint64_t end = 0;
  /// An open or a read is in flight; its answer continues this connection.
  bool waiting = false;
  /// Bytes handed to the socket and not yet written (from CAF's write acks).
  std::uint64_t unwritten = 0;
  bool keep_alive = true;
  bool reading_paused = false;
  /// Closed by the server once CAF has written what it holds.
  bool closing = false;
  /// The response head, held back to go out in one write with the body's first piece (CAF
  /// writes what a handler left in the buffer as soon as the handler returns).
  std::string head;
  /// Since when it has waited for a request (accepted, or its last response handed over).
  clock_type::time_point idle_since;
  /// When the client last took bytes, or bytes were handed over to a socket with none waiting.
  clock_type::time_point last_progress;
  /// The deadline an expire message is on its way for.
  std::optional<clock_type::time_point> timer_at;
};

struct server_state {
  mmap_manager_actor manager;
  server_limits limits;
  /// Request path -> its map; `recent` holds the paths, most recently used first.
  std::unordered_map<std::string, cached_file> files;
  std::list<std::string> recent;
  /// A sweep message is on its way.
  bool sweeping = false;
  std::unordered_map<connection_handle, connection> connections;
  std::uint64_t connections_accepted = 0;
  static inline const char* name = "http_file_server";
};

using server_pointer = caf::io::stateful_broker<server_state>*;

/// Wakes the server to check a connection's deadline: (handle, the deadline it was sent for).
using expire_atom = caf::atom_constant<caf::atom("expire")>;
/// Wakes the server to close the cached maps nobody asked for lately.
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

/// Gives up the server's reference to a cached map: the manager closes it, and the next open of
/// the path maps the file as it is then.
void release(server_pointer self, std::unordered_map<std::string, cached_file>::iterator i) {
  caf::anon_send(self->state.manager, caf::close_atom_v, i->second.map);
  self->state.recent.erase(i->second.place);
  self->state.files.erase(i);
}

/// Keeps a freshly opened map for `path`, then closes the least recently used idle maps past
/// `cache_files`.
cached_file& keep(server_pointer self, const std::string& path, const mapped_file_actor& map,
                  const map_info& info) {
  auto& st = self->state;
  auto [i, added] = st.files.try_emplace(path);
  if (!added) { // another connection opened it meanwhile: one reference is enough
    caf::anon_send(st.manager, caf::close_atom_v, map);
    st.recent.splice(st.recent.begin(), st.recent, i->second.place);
    return i->second;
  }
  st.recent.push_front(path);
  auto now = clock_type::now();
  i->second = cached_file{map, info, now + st.limits.cache_valid, now, 0, st.recent.begin()};
  std::vector<std::string> idle;
  for (auto j = st.recent.rbegin(); j != st.recent.rend(); ++j) {
    if (st.files.size() - idle.size() <= st.limits.cache_files)
      break;
    if (*j != path && st.files.at(*j).transfers == 0)
      idle.push_back(*j);
  }
  for (auto& p : idle)
    release(self, st.files.find(p));
  if (!st.sweeping) {
    st.sweeping = true;
    self->delayed_send(self, st.limits.cache_idle, sweep_atom::value);
  }
  return i->second;
}

/// Closes the maps nobody asked for during `cache_idle`, so that files not wanted any more
/// (deleted ones among them) do not stay mapped; runs while the cache holds any.
void sweep(server_pointer self) {
  auto& st = self->state;
  auto now = clock_type::now();
  for (auto i = st.files.begin(); i != st.files.end();) {
    auto at = i++;
    if (at->second.transfers == 0 && now - at->second.last_used >= st.limits.cache_idle)
      release(self, at);
  }
  st.sweeping = !st.files.empty();
  if (st.sweeping)
    self->delayed_send(self, st.limits.cache_idle, sweep_atom::value);
}

// -- connections --------------------------------------------------------------------------------

void handle_next(server_pointer self, connection_handle hdl);

connection* find(server_pointer self, connection_handle hdl) {
  auto i = self->state.connections.find(hdl);
  return i == self->state.connections.end() ? nullptr : &i->second;
}

/// The connection `hdl` if it is still the one with `id` (an answer for a connection that went
/// away must not continue a new one that got the same socket number).
connection* find(server_pointer self, connection_handle hdl, std::uint64_t id) {
  auto* c = find(self, hdl);
  return c && c->id == id ? c : nullptr;
}

/// Ends the body under way, if any: its map may be closed again.
void end_body(server_pointer self, connection& c) {
  if (!c.body)
    return;
  c.body.reset();
  if (auto i = self->state.files.find(c.body_path); i != self->state.files.end())
    --i->second.transfers;
}

/// Forgets a connection that CAF closed.
void forget(server_pointer self, connection_handle hdl) {
  if (auto* c = find(self, hdl)) {
    end_body(self, *c);
    self->state.connections.erase(hdl);
  }
}

/// Closes a connection at once, dropping what CAF still holds for it: `close` alone would wait
/// for a client that reads nothing to take those bytes first. CAF's connection handle is the
/// socket's number.
void abort_connection(server_pointer self, connection_handle hdl) {
  if (self->valid(hdl)) {
    ::shutdown(static_cast<int>(hdl.id()), SHUT_RDWR);
    self->close(hdl);
  }
  forget(self, hdl);
}

/// When the connection is closed unless something happens: `send_timeout` after the client last
/// took bytes, while bytes wait for it; none while the server works on a response; else
/// `idle_timeout` after it began waiting for a request (a partial request does not extend it).
std::optional<clock_type::time_point> deadline(const server_state& st, const connection& c) {
  if (c.unwritten > 0 || c.closing)
    return c.last_progress + st.limits.send_timeout;
  if (c.waiting || c.body)
    return std::nullopt;
  return c.idle_since + st.limits.idle_timeout;
}

/// Makes sure an expire message arrives by the connection's deadline. Every event that changes a
/// connection ends with this.
void watch(server_pointer self, connection_handle hdl) {
  auto* c = find(self, hdl);
  if (!c)
    return;
  auto due = deadline(self->state, *c);
  if (!due || (c->timer_at && *c->timer_at <= *due))
    return; // none, or an earlier wake-up looks again
  c->timer_at = due;
  auto delay = std::max(*due - clock_type::now(), clock_type::duration::zero());
  self->delayed_send(self, delay, expire_atom::value, hdl,
                     static_cast<std::int64_t>(due->time_since_epoch().count()));
}

/// Checks the deadline an expire message was sent for, unless a later one took its place.
void expire(server_pointer self, connection_handle hdl, std::int64_t due) {
  auto* c = find(self, hdl);
  if (!c || !c->timer_at || c->timer_at->time_since_epoch().count() != due)
    return;
  c->timer_at.reset();
  if (auto d = deadline(self->state, *c); d && clock_type::now() >= *d)
    return abort_connection(self, hdl);
  watch(self, hdl);
}

// -- responses on a connection ------------------------------------------------------------------

/// Ends the current response: closes the connection (once CAF has written what it holds) or
/// goes on with the next request.
void finish_response(server_pointer self, connection_handle hdl, connection& c) {
  self->flush(hdl);
  if (!c.keep_alive) {
    self->close(hdl);
    c.closing = true; // until CAF reports it closed, or the client stops taking the rest
    c.last_progress = clock_type::now();
    return;
  }
  c.idle_since = clock_type::now();
  handle_next(self, hdl);
}

/// Sends the next piece of the body once the socket has room for it.
void send_body(server_pointer self, connection_handle hdl, connection& c) {
  if (c.waiting || c.unwritten >= window)
    return; // the read's answer or the next write ack calls again
  auto size = static_cast<std::int64_t>(std::min<std::uint64_t>(piece_size, c.end - c.next));
  c.waiting = true;
  self->request(*c.body, caf::infinite, read_atom_v, static_cast<std::int64_t>(c.next), size)
    .then(
      [=, id = c.id](bytes& piece) {
        auto* c = find(self, hdl, id);
        if (!c)
          return; // the client went away meanwhile
        c->waiting = false;
        if (piece.empty()) // the file shrank under us: the promised length cannot be kept
          return abort_connection(self, hdl);
        if (c->unwritten == 0)
          c->last_progress = clock_type::now();
        c->next += piece.size();
        c->unwritten += piece.size();
        if (!c->head.empty()) {
          self->write(hdl, c->head.size(), c->head.data());
          c->head.clear();
        }
        auto& out = self->wr_buf(hdl);
        if (out.empty())
          out.swap(piece); // hand the bytes over without copying them again
        else
          out.insert(out.end(), piece.begin(), piece.end());
        if (c->next < c->end) {
          self->flush(hdl);
          send_body(self, hdl, *c);
        } else {
          end_body(self, *c);
          finish_response(self, hdl, *c);
        }
        watch(self, hdl);
      },
      [=, id = c.id](caf::error&) {
        if (find(self, hdl, id))
          abort_connection(self, hdl);
      });
}

/// A response with a short text body (or none for HEAD).
void send_status(server_pointer self, connection_handle hdl, connection& c, int status,
                 bool head_only, std::string extra_headers = {}) {
  auto text = std::to_string(status) + " " + reason(status) + "\n";
  auto out = response_head(status, c.keep_alive) + content_length(text.size()) + extra_headers +
             "Content-Type: text/plain\r\n\r\n" + (head_only ? "" : text);
  self->write(hdl, out.size(), out.data());
  finish_response(self, hdl, c);
}

/// Answers `req` for the cached file `f`.
void serve(server_pointer self, connection_handle hdl, connection& c, const request& req,
           cached_file& f) {
  auto etag = etag_of(f.info);
  auto validators =
    "Last-Modified: " + http_date(f.info.modified_ns) + "\r\nETag: " + etag + "\r\n";
  if (!req.if_none_match.empty() && matches(req.if_none_match, etag)) {
    auto out = response_head(304, c.keep_alive) + validators + "\r\n";
    self->write(hdl, out.size(), out.data());
    return finish_response(self, hdl, c);
  }
  auto size = f.info.size;
  auto span = parse_range(req.range, size);
  if (span.kind == byte_span::unsatisfiable)
    return send_status(self, hdl, c, 416, req.head_only,
                       "Content-Range: bytes */" + std::to_string(size) + "\r\n");
  auto partial = span.kind == byte_span::part;
  auto out = response_head(partial ? 206 : 200, c.keep_alive) +
             content_length(span.end - span.first) + validators +
             "Accept-Ranges: bytes\r\nContent-Type: application/octet-stream\r\n";
  if (partial)
    out += "Content-Range: bytes " + std::to_string(span.first) + "-" +
           std::to_string(span.end - 1) + "/" + std::to_string(size) + "\r\n";
  out += "\r\n";
  if (req.head_only || span.first == span.end) {
    self->write(hdl, out.size(), out.data());
    return finish_response(self, hdl, c);
  }
  c.head = std::move(out);
  c.body = f.map;
  c.body_path = req.path;
  ++f.transfers;
  c.next = span.first;
  c.end = span.end;
  send_body(self, hdl, c);
}

/// Opens `req.path` through the manager, keeps it in the cache, then serves it.
void open_and_serve(server_pointer self, connection_handle hdl, connection& c, request req) {
  c.waiting = true;
  auto resume = [=, id = c.id](auto respond) {
    auto* c = find(self, hdl, id);
    if (!c)
      return;
    c->waiting = false;
    respond(*c);
    watch(self, hdl);
  };
  self
    ->request(self->state.manager, caf::infinite, caf::open_atom_v, req.path,
              actorio::open_mode::read_only, std::int64_t{0})
    .then(
      [=](mapped_file_actor& map) {
        self->request(map, caf::infinite, info_atom_v)
          .then(
            [=](map_info& info) {
              auto& f = keep(self, req.path, map, info);
              resume([&](connection& c) { serve(self, hdl, c, req, f); });
            },
            [=](caf::error& err) {
              caf::anon_send(self->state.manager, caf::close_atom_v, map);
              resume([&](connection& c) {
                send_status(self, hdl, c, status_for(err, req.path), req.head_only);
              });
            });
      },
      [=](caf::error& err) {
        resume([&](connection& c) {
          send_status(self, hdl, c, status_for(err, req.path), req.head_only);
        });
      });
}

/// Goes on with `req` once the map of its cached file said how the file is now (`now`; none if
/// the map could not answer): the same file, unchanged, is valid again; else its entry is released
/// and the path opened again. An entry with bodies being read from it cannot be replaced
/// meanwhile (the manager holds one map per path) and serves as it is until they end.
void revalidated(server_pointer self, connection_handle hdl, std::uint64_t id, const request& req,
                 const mapped_file_actor& map, const map_info* now) {
  auto& st = self->state;
  if (auto i = st.files.find(req.path); i != st.files.end() && i->second.map == map) {
    auto& f = i->second;
    if (now && now->links > 0 && now->modified_ns == f.info.modified_ns)
      f.valid_until = clock_type::now() + st.limits.cache_valid;
    else if (f.transfers == 0)
      release(self, i);
  }
  auto* c = find(self, hdl, id);
  if (!c)
    return;
  c->waiting = false;
  if (auto i = st.files.find(req.path); i != st.files.end())
    serve(self, hdl, *c, req, i->second);
  else
    open_and_serve(self, hdl, *c, req);
  watch(self, hdl);
}

/// Serves `req` from the cache: at once while its entry is valid, else once its map said whether
/// the file is still the one at the path and unchanged (a file renamed over or deleted has no
/// links left; one written in place has a new mtime). A path not in the cache is opened.
void serve_cached(server_pointer self, connection_handle hdl, connection& c, request req) {
  auto& st = self->state;
  auto i = st.files.find(req.path);
  if (i == st.files.end())
    return open_and_serve(self, hdl, c, std::move(req));
  auto& f = i->second;
  auto now = clock_type::now();
  f.last_used = now;
  st.recent.splice(st.recent.begin(), st.recent, f.place);
  if (now < f.valid_until)
    return serve(self, hdl, c, req, f);
  c.waiting = true;
  auto map = f.map;
  self->request(map, caf::infinite, info_atom_v)
    .then([=, id = c.id](map_info& info) { revalidated(self, hdl, id, req, map, &info); },
          [=, id = c.id](caf::error&) { revalidated(self, hdl, id, req, map, nullptr); });
}

/// Takes the next complete request from the input, if no response is under way and the client
/// has taken most of the earlier ones.
void handle_next(server_pointer self, connection_handle hdl) {
  auto* c = find(self, hdl);
  if (!c || c->closing || c->waiting || c->body || c->unwritten >= window)
    return;
  if (c->reading_paused && c->input.size() <= max_head) {
    c->reading_paused = false;
    self->trigger(hdl);
  }
  auto blank = c->input.find("\r\n\r\n");
  if (blank == std::string::npos ? c->input.size() > max_head : blank + 4 > max_head) {
    c->keep_alive = false;
    return send_status(self, hdl, *c, 431, false);
  }
  if (blank == std::string::npos)
    return;
  auto parsed = parse_request(std::string_view{c->input}.substr(0, blank));
  c->input.erase(0, blank + 4);
  if (auto* status = std::get_if<int>(&parsed)) {
    c->keep_alive = false; // the rest of the input cannot be trusted
    return send_status(self, hdl, *c, *status, false, *status == 405 ? "Allow: GET, HEAD\r\n" : "");
  }
  auto& req = std::get<request>(parsed);
  c->keep_alive = req.keep_alive;
  serve_cached(self, hdl, *c, std::move(req));
}

caf::behavior server(server_pointer self, caf::io::doorman_ptr door, mmap_manager_actor manager,
                     server_limits lim) {
  self->add_doorman(std::move(door));
  self->state.manager = manager;
  self->state.limits = lim;
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& [path, f] : self->state.files)
      caf::anon_send(self->state.manager, caf::close_atom_v, f.map);
    self->state.files.clear();
    self->quit(msg.reason);
  });
  return {
    [=](const caf::io::new_connection_msg& msg) {
      connection c;
      c.id = ++self->state.connections_accepted;
      c.idle_since = clock_type::now();
      forget(self, msg.handle); // what is left of an earlier connection on that socket number
      self->state.connections.emplace(msg.handle, std::move(c));
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(16 * 1024));
      self->ack_writes(msg.handle, true);
      watch(self, msg.handle);
    },
    [=](const caf::io::new_data_msg& msg) {
      auto* c = find(self, msg.handle);
      if (!c || c->closing)
        return;
      c->input.append(msg.buf.begin(), msg.buf.end());
      if (c->input.size() > max_head && !c->reading_paused) {
        c->reading_paused = true; // until the requests waiting in the input are handled
        self->halt(msg.handle);
      }
      handle_next(self, msg.handle);
      watch(self, msg.handle);
    },
    [=](const caf::io::data_transferred_msg& msg) {
      auto* c = find(self, msg.handle);
      if (!c)
        return;
      c->unwritten = msg.remaining;
      c->last_progress = clock_type::now();
      if (c->body)
        send_body(self, msg.handle, *c);
      else
        handle_next(self, msg.handle);
      watch(self, msg.handle);
    },
    [=](const caf::io::connection_closed_msg& msg) { forget(self, msg.handle); },
    [=](const caf::io::acceptor_closed_msg&) { self->quit(); },
    [=](expire_atom, connection_handle hdl, std::int64_t due) { expire(self, hdl, due); },
    [=](sweep_atom) { sweep(self); },
  };
}

struct options {
  std::string root;
  std::string host;
  std::uint16_t port = 0;
  server_limits limits;
};

/// Seconds as given on the command line (fractions allowed), if positive.
std::optional<clock_type::duration> parse_seconds(std::string_view s) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || !(value > 0) || value > 1e9)
    return std::nullopt;
  return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>{value});
}

std::optional<options> parse_options(int argc, char** argv) {
  options opts;
  std::string listen;
  const std::pair<std::string_view, clock_type::duration*> durations[] = {
    {"--idle-timeout", &opts.limits.idle_timeout},
    {"--send-timeout", &opts.limits.send_timeout},
    {"--cache-valid", &opts.limits.cache_valid},
    {"--cache-idle", &opts.limits.cache_idle},
  };
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag{argv[i]};
    std::string_view value{argv[i + 1]};
    auto duration = std::find_if(std::begin(durations), std::end(durations),
                                 [&](const auto& d) { return d.first == flag; });
    if (flag == "--root") {
      opts.root = value;
    } else if (flag == "--listen") {
      listen = value;
    } else if (duration != std::end(durations)) {
      auto d = parse_seconds(value);
      if (!d)
        return std::nullopt;
      *duration->second = *d;
    } else if (flag == "--cache-files") {
      auto n = parse_number(value);
      if (!n || *n == 0)
        return std::nullopt;
      opts.limits.cache_files = *n;
    } else {
      return std::nullopt;
    }
  }
  auto colon = listen.rfind(':');
  auto port = parse_number(std::string_view{listen}.substr(colon == listen.npos ? 0 : colon + 1));
  if (argc % 2 == 0 || opts.root.empty() || colon == listen.npos || !port || *port > 65535)
    return std::nullopt;
  opts.host = listen.substr(0, colon);
  opts.port = static_cast<std::uint16_t>(*port);
  return opts;
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse_options(argc, argv);
  if (!opts) {
    std::cerr
      << "usage: http_file_server --root DIR --listen 127.0.0.1:PORT [--idle-timeout S]\n"
         "         [--send-timeout S] [--cache-valid S] [--cache-idle S] [--cache-files N]\n";
    return 2;
  }
  // Blocked before any thread starts, so every thread inherits the mask and main alone takes
  // them, in sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN); // a client gone mid-write is an error result, not a signal
  // Each connection and each cached file holds a descriptor, so allow as many as the hard limit
  // does; the soft limit is often 1,024.
  rlimit files_open{};
  if (getrlimit(RLIMIT_NOFILE, &files_open) == 0 && files_open.rlim_cur < files_open.rlim_max) {
    files_open.rlim_cur = files_open.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files_open);
  }

  system_config cfg;
  cfg.load<caf::io::middleman>();
  // Idle scheduler threads sleep on a condition variable rather than poll (CAF's default).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};
  runtime_config files;
  files.root = opts->root;
  files.confine_to_root = true;
  files.read_only = true;
  std::optional<runtime> rt;
  try {
    rt.emplace(sys, files);
  } catch (const std::exception& e) {
    std::cerr << "http_file_server: " << e.what() << "\n";
    return 1;
  }
  auto door = sys.middleman().backend().new_tcp_doorman(opts->port, opts->host.c_str(), true);
  if (!door) {
    std::cerr << "http_file_server: cannot listen on " << opts->host << ":" << opts->port << ": "
              << sys.render(door.error()) << "\n";
    return 1;
  }
  auto port = (*door)->port();
  auto srv =
    sys.middleman().spawn_broker(server, std::move(*door), actor_of(rt->manager()), opts->limits);
  std::cout << "listening on " << opts->host << ":" << port << std::endl;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  {
    caf::scoped_actor self{sys};
    self->monitor(srv);
    self->send_exit(srv, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
  }
  srv = nullptr;
  rt.reset(); // closes the maps the server released, then stops actorio's actors
  std::cout << "stopped" << std::endl;
  return 0;
}
