#include "protocol/json_scan.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace troupe::protocol::json_scan {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Validates JSON values from a position. Every method returns false at
/// the first byte that does not fit, leaving `pos` somewhere before it.
class scanner {
public:
  scanner(std::string_view text, size_t max_depth)
      : s_(text), max_depth_(max_depth) {}

  size_t pos = 0;

  bool at_end() const { return pos >= s_.size(); }

  /// The next byte, or '\0' at the end (which no caller looks for, so the
  /// end fails every test made through peek()).
  char peek() const { return pos < s_.size() ? s_[pos] : '\0'; }

  void skip_ws() {
    while (pos < s_.size() && is_ws(s_[pos])) ++pos;
  }

  bool expect(char c) {
    if (peek() != c) return false;
    ++pos;
    return true;
  }

  /// Any value; `depth` counts the containers around it.
  bool value(size_t depth, kind& type) {
    switch (peek()) {
      case '{': type = kind::object; return container(depth, '}', true);
      case '[': type = kind::array; return container(depth, ']', false);
      case '"': type = kind::string; return string();
      case 't': type = kind::true_value; return literal("true");
      case 'f': type = kind::false_value; return literal("false");
      case 'n': type = kind::null_value; return literal("null");
      default: type = kind::number; return number();
    }
  }

  /// An object or array; at its opening bracket.
  bool container(size_t depth, char close, bool is_object) {
    if (depth + 1 > max_depth_) return false;
    ++pos;
    skip_ws();
    if (expect(close)) return true;
    for (;;) {
      if (is_object) {
        if (!string()) return false;
        skip_ws();
        if (!expect(':')) return false;
        skip_ws();
      }
      kind ignored;
      if (!value(depth + 1, ignored)) return false;
      skip_ws();
      if (expect(close)) return true;
      if (!expect(',')) return false;
      skip_ws();
    }
  }

  /// A string literal; at its opening quote.
  bool string() {
    if (!expect('"')) return false;
    while (pos < s_.size()) {
      auto c = static_cast<unsigned char>(s_[pos]);
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (!escape()) return false;
      } else if (c >= 0x80) {
        if (!utf8()) return false;
      } else {
        ++pos;
      }
    }
    return false;
  }

private:
  bool literal(std::string_view word) {
    if (s_.substr(pos, word.size()) != word) return false;
    pos += word.size();
    return true;
  }

  /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and finite as a
  /// double (nlohmann refuses what overflows).
  bool number() {
    auto first = pos;
    if (!number_syntax()) return false;
    auto token = s_.substr(first, pos - first);
    if (token.size() < 300 && token.find_first_of("eE") == token.npos)
      return true; // cannot overflow
    std::string copy{token};
    return std::isfinite(std::strtod(copy.c_str(), nullptr));
  }

  bool number_syntax() {
    if (peek() == '-') ++pos;
    if (peek() == '0') {
      ++pos;
    } else if (is_digit(peek())) {
      while (is_digit(peek())) ++pos;
    } else {
      return false;
    }
    if (peek() == '.') {
      ++pos;
      if (!digits()) return false;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos;
      if (peek() == '+' || peek() == '-') ++pos;
      if (!digits()) return false;
    }
    return true;
  }

  bool digits() {
    auto first = pos;
    while (is_digit(peek())) ++pos;
    return pos > first;
  }

  /// Four hex digits after `\u`.
  bool code_unit(unsigned& out) {
    if (s_.size() - pos < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      auto h = hex_value(s_[pos + i]);
      if (h < 0) return false;
      out = out * 16 + static_cast<unsigned>(h);
    }
    pos += 4;
    return true;
  }

  /// At a backslash. Surrogates must come in high-low pairs.
  bool escape() {
    ++pos;
    if (at_end()) return false;
    auto c = s_[pos++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't': return true;
      case 'u': break;
      default: return false;
    }
    unsigned unit = 0;
    if (!code_unit(unit)) return false;
    if (unit >= 0xDC00 && unit <= 0xDFFF) return false; // low without high
    if (unit < 0xD800 || unit > 0xDBFF) return true;
    unsigned low = 0;
    return s_.substr(pos, 2) == "\\u" && ((pos += 2), code_unit(low))
           && low >= 0xDC00 && low <= 0xDFFF;
  }

  /// A multi-byte UTF-8 sequence (RFC 3629 table 3-7).
  bool utf8() {
    auto b = [this](size_t i) {
      return pos + i < s_.size() ? static_cast<unsigned char>(s_[pos + i]) : 0u;
    };
    auto in = [](unsigned x, unsigned lo, unsigned hi) {
      return x >= lo && x <= hi;
    };
    auto c = b(0);
    size_t n = 0;
    if (in(c, 0xC2, 0xDF)) {
      n = in(b(1), 0x80, 0xBF) ? 2 : 0;
    } else if (c == 0xE0) {
      n = in(b(1), 0xA0, 0xBF) && in(b(2), 0x80, 0xBF) ? 3 : 0;
    } else if (in(c, 0xE1, 0xEC) || in(c, 0xEE, 0xEF)) {
      n = in(b(1), 0x80, 0xBF) && in(b(2), 0x80, 0xBF) ? 3 : 0;
    } else if (c == 0xED) {
      n = in(b(1), 0x80, 0x9F) && in(b(2), 0x80, 0xBF) ? 3 : 0;
    } else if (c == 0xF0) {
      n = in(b(1), 0x90, 0xBF) && in(b(2), 0x80, 0xBF) && in(b(3), 0x80, 0xBF)
            ? 4
            : 0;
    } else if (in(c, 0xF1, 0xF3)) {
      n = in(b(1), 0x80, 0xBF) && in(b(2), 0x80, 0xBF) && in(b(3), 0x80, 0xBF)
            ? 4
            : 0;
    } else if (c == 0xF4) {
      n = in(b(1), 0x80, 0x8F) && in(b(2), 0x80, 0xBF) && in(b(3), 0x80, 0xBF)
            ? 4
            : 0;
    }
    pos += n;
    return n > 0;
  }

  std::string_view s_;
  size_t max_depth_;
};

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t read_unit(std::string_view s, size_t at) {
  uint32_t x = 0;
  for (size_t i = 0; i < 4; ++i)
    x = x * 16 + static_cast<uint32_t>(hex_value(s[at + i]));
  return x;
}

} // namespace

bool split_object(std::string_view text, std::vector<member>& out,
                  size_t max_depth) {
  out.clear();
  out.reserve(8); // a frame has a handful of members
  scanner sc{text, max_depth};
  sc.skip_ws();
  if (sc.peek() != '{' || max_depth < 1) return false;
  ++sc.pos;
  sc.skip_ws();
  if (!sc.expect('}')) {
    for (;;) {
      auto key_start = sc.pos;
      if (!sc.string()) return false;
      auto key = text.substr(key_start, sc.pos - key_start);
      sc.skip_ws();
      if (!sc.expect(':')) return false;
      sc.skip_ws();
      member m;
      auto value_start = sc.pos;
      if (!sc.value(1, m.type)) return false;
      m.text = text.substr(value_start, sc.pos - value_start);
      m.key = decode_string(key);
      out.push_back(std::move(m));
      sc.skip_ws();
      if (sc.expect('}')) break;
      if (!sc.expect(',')) return false;
      sc.skip_ws();
    }
  }
  sc.skip_ws();
  return sc.at_end();
}

bool valid(std::string_view text, size_t max_depth) {
  scanner sc{text, max_depth};
  sc.skip_ws();
  kind ignored;
  if (!sc.value(0, ignored)) return false;
  sc.skip_ws();
  return sc.at_end();
}

std::string decode_string(std::string_view literal) {
  std::string out;
  auto body = literal.substr(1, literal.size() - 2);
  if (body.find('\\') == std::string_view::npos) return std::string{body};
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    auto c = body[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    auto e = body[++i];
    switch (e) {
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        auto cp = read_unit(body, i + 1);
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          auto low = read_unit(body, i + 3);
          i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, cp);
        break;
      }
      default: out.push_back(e); // '"', '\\' and '/'
    }
  }
  return out;
}

} // namespace troupe::protocol::json_scan
