#!/usr/bin/env bash
# System programs the tests use, from Debian's packages (no browser download):
#   chromium  - opens the slides in the slides test
#   graphviz  - `dot`, which torchviz and the autodiff chapter use to draw computation graphs
#   fonts-wqy-microhei - a CJK font, so Chinese text in plots and in the slides' PDFs is not tofu
#   fonts-noto-color-emoji - the emoji the chapters use (📽, ✅, ...), so no PDF prints a box for them
#   ninja-build - the build tool torch.utils.cpp_extension.load_inline uses (chapter 03b)
# Installed with apt-get when missing and running as root. Never fails the build by itself: without
# Chromium the slides test is skipped and says why; without dot the autodiff chapter says so (and nbval,
# which expects the drawn graph, reports the difference).
missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || missing+=(chromium)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)
{ command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; } || missing+=(fonts-wqy-microhei)
{ command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi "emoji"; } || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -eq 0 ]; then echo "system deps: chromium, graphviz, ninja, a CJK and an emoji font present"; exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system deps: installing ${missing[*]} with apt-get"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "system deps: apt-get could not install ${missing[*]}"
else
  echo "system deps: missing ${missing[*]} (not root or no apt-get): install them with your package manager"
fi
exit 0
