// File helpers: whole-file reads, atomic writes, case-insensitive path resolution.
//
// Every file skintriage writes goes through write_file_atomic (temp file in the same folder,
// fsync, rename), so an interrupted run never leaves a half-written result or checkpoint.
#pragma once
#include <string>

namespace skintriage {

/// Reads a whole file; InputError naming the path when it cannot be read.
std::string read_text_file(const std::string& path);
/// Writes `bytes` to `path` atomically (creates parent folders).
void write_file_atomic(const std::string& path, const std::string& bytes);
/// Creates a folder and its parents; InputError on failure.
void make_dirs(const std::string& path);
bool file_exists(const std::string& path);
/// Joins two path parts with one '/'.
std::string join_path(const std::string& a, const std::string& b);
/// Resolves `relative` under `root`: the exact path when it exists, else the unique path whose
/// components match case-insensitively, else "" (the real derm7pt release mixes .jpg/.JPG and folder case).
std::string resolve_case_insensitive(const std::string& root, const std::string& relative);
/// Hex FNV-1a 64 hash of bytes (cache keys; not cryptographic).
std::string hash_hex(const std::string& bytes);

}  // namespace skintriage
