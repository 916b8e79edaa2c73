#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
#
# Builds an ExternalData object store (STORE_DIR/SHA512/<hash>) from a folder of the real images.
# For every content link data/<path>.sha512 of this repository it takes SOURCE_DIR/<path>, checks its SHA-512
# against the link and places it in the store: a symlink by default, a copy with --copy. Every problem (missing
# file, hash mismatch, malformed link) is reported with its path; the exit status is then 1 (2 for bad usage).
# Then configure with -DExternalData_OBJECT_STORES=STORE_DIR (docs/building.md, "Test data").
#
# Usage: scripts/make-object-store.sh SOURCE_DIR STORE_DIR [--copy]
#   SOURCE_DIR  the images laid out as under data/ (e.g. chaos-mr-t2/case01_t2.nii.gz)
#   STORE_DIR   the store to create or complete; existing correct entries are kept
set -euo pipefail

usage() {
  sed -n '/^# Usage:/,/^#   STORE_DIR/s/^# \{0,1\}//p' "$0"
}
die() {
  echo "make-object-store: $*" >&2
  exit 2
}

mode="link"
positional=()
for arg in "$@"; do
  case $arg in
    --copy) mode=copy ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option '$arg'" ;;
    *) positional+=("$arg") ;;
  esac
done
if [ "${#positional[@]}" -ne 2 ]; then
  usage >&2
  die "expected SOURCE_DIR and STORE_DIR, got ${#positional[@]} argument(s)"
fi
command -v sha512sum >/dev/null || die "sha512sum not found (Debian package coreutils)"

here=$(cd "$(dirname "$0")/.." && pwd -P)
data=$here/data
[ -d "$data" ] || die "no data/ folder with content links at $data"
[ -d "${positional[0]}" ] || die "SOURCE_DIR '${positional[0]}' is not a folder"
source_dir=$(cd "${positional[0]}" && pwd -P)
mkdir -p "${positional[1]}/SHA512" || die "cannot create '${positional[1]}/SHA512'"
store=$(cd "${positional[1]}" && pwd -P)
objects=$store/SHA512

tmp=""
trap '[ -z "$tmp" ] || rm -f "$tmp"' EXIT

links=0 placed=0 kept=0 problems=0
problem() {
  echo "make-object-store: $*" >&2
  problems=$((problems + 1))
}

while IFS= read -r -d '' link; do
  links=$((links + 1))
  rel=${link#"$data"/}
  rel=${rel%.sha512}
  hash=$(head -n 1 "$link" | tr -d '[:space:]' | tr 'A-F' 'a-f')
  if ! [[ $hash =~ ^[0-9a-f]{128}$ ]]; then
    problem "malformed content link data/$rel.sha512 (expected 128 hex digits)"
    continue
  fi
  src=$source_dir/$rel
  if [ ! -f "$src" ]; then
    problem "missing: $src (wanted by data/$rel.sha512)"
    continue
  fi
  actual=$(sha512sum <"$src" | cut -d ' ' -f 1)
  if [ "$actual" != "$hash" ]; then
    problem "hash mismatch: $src has SHA-512 ${actual:0:16}..., data/$rel.sha512 says ${hash:0:16}..."
    continue
  fi
  src=$(cd "$(dirname "$src")" && pwd -P)/$(basename "$src")
  dest=$objects/$hash
  # Keep an entry that already is what this mode would make (the same content can back several links).
  if [ "$mode" = link ] && [ -L "$dest" ] && [ "$(readlink "$dest")" = "$src" ]; then
    kept=$((kept + 1))
    continue
  fi
  if [ "$mode" = copy ] && [ -f "$dest" ] && [ ! -L "$dest" ] &&
    [ "$(sha512sum <"$dest" | cut -d ' ' -f 1)" = "$hash" ]; then
    kept=$((kept + 1))
    continue
  fi
  # Write under a temporary name and rename, so that an interrupted run leaves no half-written object.
  tmp=$objects/.$hash.tmp.$$
  rm -f "$tmp"
  if [ "$mode" = link ]; then
    ln -s "$src" "$tmp" || { problem "cannot create a symlink in $objects"; continue; }
  else
    cp "$src" "$tmp" || { problem "cannot copy $src into $objects"; continue; }
  fi
  mv -f -T "$tmp" "$dest" || { problem "cannot write $dest"; continue; }
  tmp=""
  placed=$((placed + 1))
done < <(find "$data" -type f -name '*.sha512' -print0 | sort -z)

if [ "$links" -eq 0 ]; then
  die "no content links (*.sha512) under $data"
fi
echo "make-object-store: $links content links; $placed objects placed, $kept already present in $objects ($mode mode)"
if [ "$problems" -gt 0 ]; then
  echo "make-object-store: $problems problem(s); the store is incomplete" >&2
  exit 1
fi
