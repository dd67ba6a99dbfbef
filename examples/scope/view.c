// SPDX-License-Identifier: MIT
/*
 * The view: plain Xlib, used by this thread only (so no XInitThreads).
 * About 25 times a second it takes what the sampling thread put in the
 * ring, keeps the last samples for the trace and its own running figures
 * (a log-binned histogram: its median is within 2.3 %; the exact figures
 * are the sampling thread's, printed at the end), and draws a frame into a
 * pixmap copied to the window: the signal's scrolling trace, the lateness
 * of each period (log scale) and the histogram. It waits for the X server
 * in poll(), never for the sampling thread.
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include "scope.h"

#define FRAME_MS 40
#define HISTORY 4096		/* samples kept for the trace: the widest window drawn */
#define DECADES 6		/* lateness axis: 0.1 us to 100 ms */
#define BINS_PER_DECADE 100
#define LOG_BINS (DECADES * BINS_PER_DECADE)
#define MIN_US 0.1

/* The trace's colour is exact (TrueColor): tests count its pixels on a screenshot. */
static const char *const colour_names[] = {
	"#101418", "#34404c", "#00ff66", "#ffd23f", "#e8e8e8", "#4aa3ff",
};
enum colour { BG, GRID, TRACE, LATE, TEXT, HIST, COLOURS };

struct view {
	Display *dpy;
	Window win;
	Pixmap buf;
	GC gc;
	XFontStruct *font;
	Atom wm_delete;
	int w, h, line_h;
	unsigned long colour[COLOURS];

	struct sample last[HISTORY];	/* a circular buffer of the newest samples */
	uint64_t received;
	uint64_t bins[LOG_BINS];
	int64_t min_ns, max_ns;
};

static int late_bin(int32_t late_ns)
{
	double us = late_ns / 1000.0;
	int b;

	if (us < MIN_US)
		return 0;
	b = (int)(BINS_PER_DECADE * log10(us / MIN_US));
	return b < LOG_BINS ? b : LOG_BINS - 1;
}

static double bin_us(int b)	/* the middle of a bin, in us */
{
	return MIN_US * pow(10, (b + 0.5) / BINS_PER_DECADE);
}

static void view_take(struct view *v, struct scope *sc)
{
	struct sample s[256];
	unsigned n;

	while ((n = ring_take(&sc->ring, s, 256)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			if (v->received == 0 || s[i].late_ns < v->min_ns)
				v->min_ns = s[i].late_ns;
			if (v->received == 0 || s[i].late_ns > v->max_ns)
				v->max_ns = s[i].late_ns;
			v->bins[late_bin(s[i].late_ns)]++;
			v->last[v->received++ % HISTORY] = s[i];
		}
	}
}

static double view_median_us(const struct view *v)
{
	uint64_t seen = 0;

	for (int b = 0; b < LOG_BINS; b++) {
		seen += v->bins[b];
		if (seen * 2 >= v->received)
			return bin_us(b);
	}
	return 0;
}

static void set_colour(struct view *v, enum colour c)
{
	XSetForeground(v->dpy, v->gc, v->colour[c]);
}

/* Text on the background colour: it stays legible over the bars. */
static void text(struct view *v, int x, int y, const char *s)
{
	XDrawImageString(v->dpy, v->buf, v->gc, x, y, s, (int)strlen(s));
}

/* A caption at the right end of a band's first line. */
static void caption(struct view *v, int top, const char *s)
{
	int width = v->font ? XTextWidth(v->font, s, (int)strlen(s)) : 6 * (int)strlen(s);

	set_colour(v, TEXT);
	text(v, v->w - width - 6, top + v->line_h, s);
}

/* y of a lateness on a log axis from MIN_US (bottom) to 10^DECADES times it (top). */
static int late_y(double us, int top, int height)
{
	double f = us <= MIN_US ? 0 : log10(us / MIN_US) / DECADES;

	if (f > 1)
		f = 1;
	return top + height - 1 - (int)(f * (height - 1));
}

static void draw_text(struct view *v, struct scope *sc)
{
	char line[200];

	set_colour(v, TEXT);
	snprintf(line, sizeof(line), "crtos scope: a 4 Hz sine sampled every %ld us at %s, t = %.1f s",
		 sc->period_ns / 1000, sc->realtime ? "SCHED_FIFO" : "SCHED_OTHER (no privilege)",
		 v->received * (double)sc->period_ns / 1e9);
	text(v, 6, v->line_h, line);
	if (v->received == 0)
		return;
	snprintf(line, sizeof(line),
		 "lateness (us): now %.1f  min %.1f  median %.1f  max %.1f   %llu samples, %llu dropped",
		 v->last[(v->received - 1) % HISTORY].late_ns / 1000.0, v->min_ns / 1000.0,
		 view_median_us(v), v->max_ns / 1000.0, (unsigned long long)v->received,
		 (unsigned long long)atomic_load(&sc->ring.dropped));
	text(v, 6, 2 * v->line_h + 2, line);
}

/* The newest samples, one per column, the newest at the right edge. */
static void draw_trace(struct view *v, int top, int height)
{
	XPoint pts[HISTORY];
	int n = 0, mid = top + height / 2;

	set_colour(v, GRID);
	XDrawLine(v->dpy, v->buf, v->gc, 0, mid, v->w, mid);
	for (int x = v->w - 1; x >= 0 && (uint64_t)(v->w - 1 - x) < v->received && n < HISTORY; x--) {
		const struct sample *s = &v->last[(v->received - 1 - (uint64_t)(v->w - 1 - x)) % HISTORY];

		pts[n].x = (short)x;
		pts[n].y = (short)(mid - s->value * (height / 2 - 4));
		n++;
	}
	set_colour(v, TRACE);
	caption(v, top, "the signal, newest at the right");
	set_colour(v, TRACE);
	if (n > 1)
		XDrawLines(v->dpy, v->buf, v->gc, pts, n, CoordModeOrigin);
}

static void draw_decades(struct view *v, int top, int height, bool labels)
{
	static const char *const label[] = { "0.1 us", "1 us", "10 us", "100 us", "1 ms", "10 ms" };

	for (int d = 1; d < DECADES; d++) {
		int y = late_y(MIN_US * pow(10, d), top, height);

		set_colour(v, labels ? TEXT : GRID);
		if (labels)
			text(v, 4, y - 2, label[d]);
		else
			XDrawLine(v->dpy, v->buf, v->gc, 0, y, v->w, y);
	}
}

/* Each period's lateness, log scale, aligned with the trace above. */
static void draw_lateness(struct view *v, int top, int height)
{
	XSegment seg[HISTORY];
	int n = 0;

	draw_decades(v, top, height, false);
	for (int x = v->w - 1; x >= 0 && (uint64_t)(v->w - 1 - x) < v->received && n < HISTORY; x--) {
		const struct sample *s = &v->last[(v->received - 1 - (uint64_t)(v->w - 1 - x)) % HISTORY];

		seg[n] = (XSegment){ (short)x, (short)(top + height - 1), (short)x,
				     (short)late_y(s->late_ns / 1000.0, top, height) };
		n++;
	}
	set_colour(v, LATE);
	XDrawSegments(v->dpy, v->buf, v->gc, seg, n);
	draw_decades(v, top, height, true);
	caption(v, top, "lateness of each period (log)");
}

/* The histogram: lateness on a log x axis, the count on a log y axis. */
static void draw_histogram(struct view *v, int top, int height)
{
	static const char *const label[] = { "0.1us", "1us", "10us", "100us", "1ms", "10ms" };
	double scale = log10((double)v->received + 1);

	set_colour(v, HIST);
	for (int x = 0; x < v->w && scale > 0; x++) {
		int b0 = x * LOG_BINS / v->w, b1 = (x + 1) * LOG_BINS / v->w, bar;
		uint64_t count = 0;

		for (int b = b0; b < b1 || b == b0; b++)
			count += v->bins[b];
		bar = (int)(log10((double)count + 1) / scale * (height - v->line_h - 4));
		if (bar > 0)
			XFillRectangle(v->dpy, v->buf, v->gc, x, top + height - v->line_h - bar, 1, (unsigned)bar);
	}
	set_colour(v, TEXT);
	for (int d = 0; d < DECADES; d++)
		text(v, d * v->w / DECADES + 2, top + height - 2, label[d]);
	caption(v, top, "histogram (log count)");
}

static void view_draw(struct view *v, struct scope *sc)
{
	int top = 2 * v->line_h + 8, rest = v->h - top;
	int trace_h = rest * 7 / 20, late_h = rest * 3 / 10;

	set_colour(v, BG);
	XFillRectangle(v->dpy, v->buf, v->gc, 0, 0, (unsigned)v->w, (unsigned)v->h);
	draw_text(v, sc);
	draw_trace(v, top, trace_h);
	draw_lateness(v, top + trace_h + 4, late_h - 4);
	draw_histogram(v, top + trace_h + late_h + 4, rest - trace_h - late_h - 4);
	XCopyArea(v->dpy, v->buf, v->win, v->gc, 0, 0, (unsigned)v->w, (unsigned)v->h, 0, 0);
	XFlush(v->dpy);
}

static void view_resize(struct view *v, int w, int h)
{
	if (w == v->w && h == v->h && v->buf)
		return;
	if (v->buf)
		XFreePixmap(v->dpy, v->buf);
	v->w = w;
	v->h = h;
	v->buf = XCreatePixmap(v->dpy, v->win, (unsigned)w, (unsigned)h,
			       (unsigned)DefaultDepth(v->dpy, DefaultScreen(v->dpy)));
}

static void view_colours(struct view *v)
{
	Colormap cmap = DefaultColormap(v->dpy, DefaultScreen(v->dpy));

	for (int c = 0; c < COLOURS; c++) {
		XColor xc;

		v->colour[c] = WhitePixel(v->dpy, DefaultScreen(v->dpy));
		if (XParseColor(v->dpy, cmap, colour_names[c], &xc) && XAllocColor(v->dpy, cmap, &xc))
			v->colour[c] = xc.pixel;
	}
}

static void view_open_window(struct view *v, const char *geometry)
{
	int x = 0, y = 0, scr = DefaultScreen(v->dpy);
	unsigned w = 640, h = 480;
	XSizeHints hints = { .flags = USPosition | USSize };

	if (geometry)
		XParseGeometry(geometry, &x, &y, &w, &h);
	view_colours(v);
	/* The background the server paints after a resize, until the next frame. */
	v->win = XCreateSimpleWindow(v->dpy, RootWindow(v->dpy, scr), x, y, w, h, 0,
				     v->colour[BG], v->colour[BG]);
	hints.x = x;
	hints.y = y;
	hints.width = (int)w;
	hints.height = (int)h;
	XSetWMNormalHints(v->dpy, v->win, &hints);
	XStoreName(v->dpy, v->win, "crtos scope");
	XClassHint cls = { .res_name = "scope", .res_class = "Scope" };
	XSetClassHint(v->dpy, v->win, &cls);
	v->wm_delete = XInternAtom(v->dpy, "WM_DELETE_WINDOW", False);
	XSetWMProtocols(v->dpy, v->win, &v->wm_delete, 1);
	XSelectInput(v->dpy, v->win, ExposureMask | StructureNotifyMask);
	v->gc = XCreateGC(v->dpy, v->win, 0, NULL);
	v->font = XLoadQueryFont(v->dpy, "fixed");
	if (v->font)
		XSetFont(v->dpy, v->gc, v->font->fid);
	v->line_h = v->font ? v->font->ascent + v->font->descent : 13;
	XSetBackground(v->dpy, v->gc, v->colour[BG]);
	view_resize(v, (int)w, (int)h);
	XMapWindow(v->dpy, v->win);
}

/* Expose, ConfigureNotify (a new size: a new pixmap) and the window manager's close. */
static void view_events(struct view *v, struct scope *sc)
{
	while (XPending(v->dpy)) {
		XEvent e;

		XNextEvent(v->dpy, &e);
		if (e.type == ConfigureNotify)
			view_resize(v, e.xconfigure.width, e.xconfigure.height);
		else if (e.type == ClientMessage && (Atom)e.xclient.data.l[0] == v->wm_delete)
			atomic_store(&sc->stop, true);
		else if (e.type == DestroyNotify)
			atomic_store(&sc->stop, true);
	}
}

static struct view the_view;

int view_open(struct scope *sc)
{
	struct view *v = &the_view;

	v->dpy = XOpenDisplay(NULL);
	if (!v->dpy) {
		fprintf(stderr, "scope: cannot open the X display '%s' (DISPLAY); --headless runs without one\n",
			XDisplayName(NULL));
		return -1;
	}
	view_open_window(v, sc->geometry);
	return 0;
}

void view_run(struct scope *sc)
{
	struct view *v = &the_view;
	struct pollfd pfd = { .fd = ConnectionNumber(v->dpy), .events = POLLIN };

	while (!atomic_load(&sc->stop)) {
		bool ending = atomic_load(&sc->sampling_done);

		view_events(v, sc);
		view_take(v, sc);
		view_draw(v, sc);
		if (ending)
			break;
		poll(&pfd, 1, FRAME_MS);
	}
	if (v->font)
		XFreeFont(v->dpy, v->font);
	XFreePixmap(v->dpy, v->buf);
	XFreeGC(v->dpy, v->gc);
	XDestroyWindow(v->dpy, v->win);
	XCloseDisplay(v->dpy);
}
