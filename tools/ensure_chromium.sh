#!/usr/bin/env bash
# Make sure a Chromium exists for the slides test (Debian's package; no browser download).
# Never fails the build: without Chromium the slides test is skipped and prints why.
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then echo "browser: $(command -v $b)"; exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser: installing Debian's chromium (apt-get) for the slides test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "browser: apt-get could not install chromium; the slides test will be skipped"
else
  echo "browser: no chromium and no root apt-get; the slides test will be skipped"
fi
exit 0
