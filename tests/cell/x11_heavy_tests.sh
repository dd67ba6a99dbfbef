# SPDX-License-Identifier: MIT
#
# X11 screenshot tests of the heavy desktop programs (Emacs with GTK): only
# make test-x11 (tests/run x11) runs them, for make test's time budget.
# Sourced with x11_tests.sh's helpers; scripts/install-deps --x11 installs
# the programs.
