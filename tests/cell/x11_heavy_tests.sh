# SPDX-License-Identifier: MIT
#
# X11 screenshot tests of the heavy desktop programs (Emacs with GTK, Firefox): only
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

FIREFOX=/usr/bin/firefox-esr

# firefox_page FILE: a local page with CSS boxes (a radius, a gradient),
# text and a canvas drawn by a script.
firefox_page() {
	cat >"$1" <<'HTML'
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>crtos</title>
<style>
body { margin: 0; background: #f4f1e8; font: 20px sans-serif; }
.box { position: absolute; width: 200px; height: 120px; }
</style></head>
<body>
<div class="box" style="left:40px;top:40px;background:#c0392b"></div>
<div class="box" style="left:280px;top:40px;background:#2980b9;border-radius:30px"></div>
<div class="box" style="left:520px;top:40px;background:linear-gradient(90deg,#16a085,#f1c40f)"></div>
<p style="position:absolute;left:40px;top:200px">Firefox in the crtos real-time realm: the same pixels.</p>
<canvas id="c" width="300" height="150" style="position:absolute;left:40px;top:260px"></canvas>
<script>
var g = document.getElementById('c').getContext('2d');
g.fillStyle = '#8e44ad'; g.beginPath(); g.arc(75, 75, 60, 0, 2 * Math.PI); g.fill();
for (var i = 0; i < 10; i++) { g.fillStyle = 'rgb(' + (i * 25) + ',100,50)'; g.fillRect(150 + i * 14, 20, 12, 110); }
</script>
</body></html>
HTML
}

# firefox_shot MODE PAGE PNG: Firefox's headless screenshot of PAGE,
# natively or in the realm (MODE native or rt), each with a fresh profile
# (HOME). The realm's cell gets 6 GiB: the parent, the fork server and the
# content processes are realm processes with their memory up front
# (reservations aside), and a fork copies it. Natively it may take 120 s,
# in the realm 240 s, both scaled (the test VM is ten times slower).
firefox_shot() {
	local mode=$1 page=$2 png=$3 home out status=0
	home=$(mktemp -d "${TMPDIR:-/tmp}/crtos-ff.XXXXXX")
	out=$(tmp)
	if [[ $mode == native ]]; then
		HOME=$home timeout "$(scaled_count 120)" "$FIREFOX" --headless --screenshot "$png" "file://$page" \
			>"$out" 2>&1 || status=$?
	else
		HOME=$home timeout "$(scaled_count 240)" "$CRTOS" run --mem 6G --log "$X11_LOGS/x11-firefox-kernel.log" \
			-- "$FIREFOX" --headless --screenshot "$png" "file://$page" >"$out" 2>&1 || status=$?
	fi
	rm -rf "$home"
	if ((status != 0)) || ! [[ -s $png ]]; then
		cat "$out"
		[[ $mode == native ]] || echo "the kernel's log: $X11_LOGS/x11-firefox-kernel.log"
		fail "firefox-esr ($mode): exit status $status, screenshot $( [[ -s $png ]] && echo made || echo missing)"
	fi
}

# Firefox ESR's headless screenshot of a local page (1366x768): the realm's
# PNG must have the native one's pixels. Its sandboxed libraries' wasm2c
# code ("Segue") keeps its linear memory's base in GS (wrgsbase where
# AT_HWCAP2 has FSGSBASE), which the realm leaves to programs in both modes.
# timeout: 400
test_x11_firefox_headless_screenshot_like_native() {
	x11_need "$COMPARE" "$FIREFOX" || return 0
	local page native rt n
	page=$(tmp).html native=$(tmp).png rt=$(tmp).png
	firefox_page "$page"
	firefox_shot native "$page" "$native"
	firefox_shot rt "$page" "$rt"
	n=$(x11_differing "$native" "$rt")
	if [[ $n != 0 ]]; then
		cp "$native" "$X11_LOGS/x11-firefox-native.png"
		cp "$rt" "$X11_LOGS/x11-firefox-rt.png"
		fail "firefox: the realm's screenshot differs from the native one in $n pixels" \
			"(see $X11_LOGS/x11-firefox-{native,rt}.png)"
	fi
	echo "firefox: the realm's screenshot has the native one's pixels"
}

# firefox_profile DIR: an empty profile that skips the first run's extras
# (the default-browser question, the welcome and data-policy pages).
firefox_profile() {
	rm -rf "$1"
	mkdir -p "$1"
	cat >"$1/user.js" <<'JS'
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionPolicyBypassNotification", true);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
JS
}

# Firefox's window in kiosk mode (the page alone, no toolbars) once it has
# drawn the page; in the realm its content processes must be realm
# processes too. It ends by SIGTERM (kiosk mode ignores Ctrl+Q), which kills
# it natively (status 143) and which crtos run hands to the program; each
# run starts from a fresh profile.
x11_input_firefox_window() {
	x11_window firefox-esr 120
	x11_expect_realm_processes "$1" 3
}

x11_quit_firefox_window() {
	kill -TERM "$x11_prog"
	for _ in $(seq "$(scaled_count 300)"); do
		kill -0 "$x11_prog" 2>/dev/null || break
		sleep 0.1
	done
	firefox_profile "$x11_ff_profile"	# x11_wait_exit takes its status
}

# timeout: 600
test_x11_firefox_window_like_native() {
	x11_need "$XVFB" "$XDOTOOL" "$XWD" "$CONVERT" "$COMPARE" "$FIREFOX" || return 0
	local page home
	page=$(tmp).html home=$(mktemp -d "${TMPDIR:-/tmp}/crtos-ff.XXXXXX")
	firefox_page "$page"
	x11_ff_profile=$home/profile
	firefox_profile "$x11_ff_profile"
	x11_rt_opts=(--mem 6G --log "$(realpath "$X11_LOGS")/x11-firefox-window-kernel.log")	# it runs in x11_dir
	x11_start
	HOME=$home x11_native_vs_rt firefox_window "" "$FIREFOX" --no-remote \
		--profile "$x11_ff_profile" --kiosk "file://$page"
	rm -rf "$home" "$x11_dir"
}
