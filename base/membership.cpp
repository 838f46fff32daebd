#include "base/membership.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace troupe {

namespace {

/// MurmurHash3's fmix64: every input bit affects every output bit.
uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

/// 16 lowercase hex digits, most significant first.
std::string hex64(uint64_t h) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4)
    hex[static_cast<size_t>(i)] = digits[h & 0xf];
  return hex;
}

const char* type_name(queue_type x) {
  return x == queue_type::fifo ? "fifo" : "standard";
}

/// The queues by name (the config never has two of one name).
std::map<std::string_view, const queue_config*>
by_name(const std::vector<queue_config>& queues) {
  std::map<std::string_view, const queue_config*> result;
  for (const auto& q : queues) result.emplace(q.name, &q);
  return result;
}

} // namespace

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t hrw_score(std::string_view member, std::string_view queue,
                   std::string_view group) {
  std::string key;
  key.reserve(member.size() + queue.size() + group.size() + 2);
  key.append(member).append(1, '\0').append(queue).append(1, '\0');
  key.append(group);
  return fmix64(fnv1a64(key));
}

std::string fifo_owner(const std::vector<std::string>& members,
                       std::string_view queue, std::string_view group) {
  return detail::hrw_argmax(members, [&](std::string_view member) {
    return hrw_score(member, queue, group);
  });
}

std::string queue_config_digest(const std::vector<queue_config>& queues) {
  std::string text = "troupe.queues.v1\n";
  for (const auto& [name, q] : by_name(queues)) {
    text += std::to_string(name.size()) + ":";
    text.append(name);
    text += std::string{" "} + type_name(q->type) + " ";
    text += std::to_string(q->message_group_field.size()) + ":"
            + q->message_group_field + "\n";
  }
  return hex64(fnv1a64(text));
}

std::vector<std::string>
queue_config_differences(const std::vector<queue_config>& here,
                         const std::vector<queue_config>& there) {
  auto mine = by_name(here);
  auto theirs = by_name(there);
  std::map<std::string_view, std::string> found;
  for (const auto& [name, q] : mine) {
    auto prefix = "queue '" + std::string{name} + "'";
    auto i = theirs.find(name);
    if (i == theirs.end())
      found.emplace(name, prefix + " only here");
    else if (q->type != i->second->type)
      found.emplace(name, prefix + ": type " + type_name(q->type) + " here, "
                            + type_name(i->second->type) + " there");
    else if (q->message_group_field != i->second->message_group_field)
      found.emplace(name, prefix + ": message_group_field '"
                            + q->message_group_field + "' here, '"
                            + i->second->message_group_field + "' there");
  }
  for (const auto& entry : theirs)
    if (mine.count(entry.first) == 0)
      found.emplace(entry.first,
                    "queue '" + std::string{entry.first} + "' only there");
  std::vector<std::string> result;
  for (auto& entry : found) result.push_back(std::move(entry.second));
  return result;
}

std::string cookie_proof(std::string_view cookie,
                         std::string_view from_incarnation,
                         std::string_view to_incarnation) {
  if (cookie.empty()) return {};
  std::string text{"troupe.cookie.v1", sizeof("troupe.cookie.v1")};
  text.append(cookie).append(1, '\0').append(from_incarnation);
  text.append(1, '\0').append(to_incarnation);
  return hex64(fmix64(fnv1a64(text)));
}

std::chrono::milliseconds redial_delay(uint32_t failures) {
  constexpr uint32_t first_ms = 250;
  constexpr uint32_t cap_ms = 5000;
  auto shift = failures > 1 ? failures - 1 : 0u;
  // 250 << 5 is past the cap already; larger shifts would overflow.
  auto ms = shift >= 5 ? cap_ms : std::min(first_ms << shift, cap_ms);
  return std::chrono::milliseconds{ms};
}

std::string to_string(member_status x) {
  switch (x) {
    case member_status::connecting: return "connecting";
    case member_status::up: return "up";
    case member_status::down: return "down";
    case member_status::left: return "left";
    case member_status::refused: return "refused";
  }
  return "member_status(" + std::to_string(static_cast<int>(x)) + ")";
}

std::optional<member_status> member_status_from(uint8_t x) {
  if (x > static_cast<uint8_t>(member_status::refused)) return std::nullopt;
  return static_cast<member_status>(x);
}

namespace detail {

std::string hrw_argmax(const std::vector<std::string>& members,
                       const std::function<uint64_t(std::string_view)>& score) {
  const std::string* best = nullptr;
  uint64_t best_score = 0;
  for (const auto& member : members) {
    auto s = score(member);
    if (!best || s > best_score || (s == best_score && member < *best)) {
      best = &member;
      best_score = s;
    }
  }
  return best ? *best : std::string{};
}

} // namespace detail

} // namespace troupe
