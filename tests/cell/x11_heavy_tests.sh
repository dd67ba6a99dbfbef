# SPDX-License-Identifier: MIT
#
# X11 screenshot tests of the heavy desktop programs (Emacs with GTK): only
# make test-x11 (tests/run x11) runs them, for make test's time budget.
# Sourced with x11_tests.sh's helpers; scripts/install-deps --x11 installs
# the programs.

EMACS=/usr/bin/emacs-gtk

# Emacs (GTK) opening a file, its cursor kept still (blink-cursor-mode
# off). It needs GLib's dconf file mapped MAP_SHARED (a shared slot), and
# its atimers' timerfd (an RT fd) in pselect6 beside the X socket.
x11_input_emacs_file() {
	x11_window Emacs
}

x11_quit_emacs_file() {
	"$XDOTOOL" windowfocus --sync "$x11_win" key ctrl+x ctrl+c
}

# timeout: 300
test_x11_emacs_opens_a_file_like_native() {
	x11_need "$XVFB" "$XDOTOOL" "$XWD" "$CONVERT" "$COMPARE" "$EMACS" || return 0
	local file
	file=$(tmp)
	printf 'Hello from a file\n(defun realm () "RT")\n' >"$file"
	x11_start
	NO_AT_BRIDGE=1 x11_native_vs_rt emacs_file "" "$EMACS" -Q --eval '(blink-cursor-mode 0)' \
		-g 80x24+0+0 "$file"
	rm -rf "$x11_dir"
}
