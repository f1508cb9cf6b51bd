//! What the screen shows: the connecting screen (each step with its state,
//! and an error banner naming the failed step), or the remote desktop,
//! copied from the session's primary surface one damaged rectangle at a
//! time, with the server's cursor on top.

use super::super::display::Screen;
use super::super::fault;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use drivers::framebuffer::{Area, Cursor, Image, SpriteView};
use drivers::net::server::Server;
use drivers::screen;
use spice_proto::session::Session;

/// The connection's steps, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Nic,
    Address,
    Config,
    Resolve,
    Connect,
    Auth,
    Display,
}

impl Step {
    const ALL: [Step; 7] =
        [Step::Nic, Step::Address, Step::Config, Step::Resolve, Step::Connect, Step::Auth, Step::Display];

    pub fn name(self) -> &'static str {
        match self {
            Step::Nic => "network card",
            Step::Address => "address",
            Step::Config => "configuration",
            Step::Resolve => "resolving",
            Step::Connect => "connecting",
            Step::Auth => "authenticating",
            Step::Display => "display",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Step::Nic => "Network card",
            Step::Address => "Address",
            Step::Config => "Configuration",
            Step::Resolve => "Resolving",
            Step::Connect => "Connecting",
            Step::Auth => "Authenticating",
            Step::Display => "Display",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State {
    #[default]
    Pending,
    Active,
    Done,
    Skipped,
    Failed,
}

impl State {
    fn mark(self) -> &'static str {
        match self {
            State::Pending => "[    ]",
            State::Active => "[ .. ]",
            State::Done => "[ ok ]",
            State::Skipped => "[ -- ]",
            State::Failed => "[FAIL]",
        }
    }
}

/// The connecting screen's content.
pub struct Progress {
    /// The server (with the `.vv` title, if any) for the title line.
    server: String,
    steps: [(State, String); 7],
    /// Configuration problems, shown below the steps.
    notes: Vec<String>,
    /// (failed step, why, attempt number).
    error: Option<(Step, String, Option<u32>)>,
    /// Seconds until the next attempt (0: none planned).
    retry_in: u64,
    reconnecting: Option<String>,
    /// Something changed since the last draw.
    dirty: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            server: String::new(),
            steps: Default::default(),
            notes: Vec::new(),
            error: None,
            retry_in: 0,
            reconnecting: None,
            dirty: true,
        }
    }

    /// What the title names: the server and the `.vv` title.
    pub fn set_server(&mut self, server: Option<&Server>, title: Option<&str>) {
        let s = match (server, title) {
            (Some(s), Some(t)) => format!("{t} ({s})"),
            (Some(s), None) => format!("{s}"),
            (None, _) => String::from("(no server yet)"),
        };
        if s != self.server {
            self.server = s;
            self.dirty = true;
        }
    }

    /// The configuration problems to show.
    pub fn set_notes(&mut self, notes: Vec<String>) {
        if notes != self.notes {
            self.notes = notes;
            self.dirty = true;
        }
    }

    /// Sets a step's state and detail; later steps go back to pending
    /// when a step becomes active again.
    pub fn set(&mut self, step: Step, state: State, detail: &str) {
        let i = step.index();
        if self.steps[i].0 != state || self.steps[i].1 != detail {
            self.steps[i] = (state, String::from(detail));
            self.dirty = true;
        }
        if state == State::Active {
            for s in &mut self.steps[i + 1..] {
                if s.0 != State::Pending {
                    *s = (State::Pending, String::new());
                    self.dirty = true;
                }
            }
        }
    }

    /// Marks `step` failed with `why`; the banner names both.
    pub fn fail(&mut self, step: Step, why: &str, attempt: Option<u32>) {
        let detail = self.steps[step.index()].1.clone();
        self.set(step, State::Failed, &detail);
        self.error = Some((step, String::from(why), attempt));
        self.dirty = true;
    }

    pub fn clear_error(&mut self) {
        if self.error.take().is_some() || self.reconnecting.take().is_some() {
            self.dirty = true;
        }
    }

    /// The server went away: the next screens say "reconnecting".
    pub fn reconnecting(&mut self, why: &str) {
        self.error = None;
        self.reconnecting = Some(String::from(why));
        for s in &mut self.steps[Step::Connect.index()..] {
            *s = (State::Pending, String::new());
        }
        self.dirty = true;
    }

    pub fn retry_in(&mut self, secs: u64) {
        if self.retry_in != secs {
            self.retry_in = secs;
            self.dirty = true;
        }
    }

    fn title(&self) -> String {
        let verb = if self.reconnecting.is_some() { "reconnecting to" } else { "connecting to" };
        format!("Clove {}: {verb} {}", super::super::VERSION, self.server)
    }

    fn lines(&self) -> Vec<String> {
        let mut v: Vec<String> = Step::ALL
            .iter()
            .map(|&s| {
                let (state, detail) = &self.steps[s.index()];
                if detail.is_empty() {
                    format!("{} {}", state.mark(), s.label())
                } else {
                    format!("{} {}: {detail}", state.mark(), s.label())
                }
            })
            .collect();
        if let Some(why) = &self.reconnecting {
            v.push(String::new());
            v.push(format!("The server went away ({why}); reconnecting."));
        }
        v
    }

    fn banner(&self) -> Option<(String, String)> {
        let (step, why, attempt) = self.error.as_ref()?;
        let title = format!("{} failed", step.label());
        let mut msg = String::from(why.as_str());
        if self.retry_in > 0 {
            msg.push('\n');
            if let Some(n) = attempt {
                let _ = write!(msg, "Attempt {n} failed; ");
            }
            let _ = write!(msg, "retrying in {} s.", self.retry_in);
        }
        Some((title, msg))
    }
}

impl Progress {
    /// Draws the connecting screen if anything changed since the last draw.
    pub fn draw(&mut self, screen: &mut Option<Screen>) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let Some(s) = screen.as_mut() else { return };
        let lines = self.lines();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        screen::draw_status(&mut s.fb, &self.title(), &refs);
        screen::draw_hint(&mut s.fb, "F2: setup");
        let notes: Vec<&str> = self.notes.iter().map(String::as_str).collect();
        screen::draw_notes(&mut s.fb, lines.len() + 1, &notes);
        if let Some((title, msg)) = self.banner() {
            screen::draw_error(&mut s.fb, &title, &msg);
        }
    }

    /// The next draw repaints everything (the desktop was on screen).
    pub fn invalidate(&mut self) {
        self.dirty = true;
    }
}

/// Where the remote primary surface sits on the screen.
#[derive(Clone, Copy, Debug, Default)]
pub struct Placement {
    /// Screen position of the surface's top-left pixel (negative: clipped).
    x: i32,
    y: i32,
}

/// The remote desktop on screen.
#[derive(Default)]
pub struct Desktop {
    placement: Option<Placement>,
    /// The server's pointer, drawn over the desktop. What lies beneath it
    /// is always in the session's canvas, so it is redrawn from there.
    cursor: Cursor,
    /// The cursor shape's size and hot spot as last logged.
    cursor_logged: Option<(u32, u32, u16, u16)>,
    /// Damage rectangles and pixels drawn, for the stats line.
    pub rects: u64,
    pub pixels: u64,
    /// The primary surface's pixel count: `pixels` over this is the
    /// update rate in whole frames.
    pub surface_pixels: u64,
}

impl Desktop {
    /// Whether the desktop owns the screen.
    pub fn active(&self) -> bool {
        self.placement.is_some()
    }

    /// A primary surface of `w`x`h` exists: take the mode for it when the
    /// display can change modes, else centre it (clipped) on the fixed one.
    /// Returns a line for the log.
    pub fn surface_created(&mut self, screen: &mut Option<Screen>, w: u32, h: u32) -> String {
        self.surface_pixels = u64::from(w) * u64::from(h);
        let Some(s) = screen.as_mut() else {
            self.placement = Some(Placement::default());
            return format!("{w}x{h} (no screen)");
        };
        let mut note = String::new();
        if s.can_set_mode() && (s.fb.width(), s.fb.height()) != (w, h) {
            match s.set_mode(w, h) {
                Ok(()) => {
                    fault::register_framebuffer(s.fb.info());
                    note = format!("mode set to {w}x{h}");
                }
                Err(e) => note = format!("cannot set {w}x{h} ({e}); centred"),
            }
        }
        let (sw, sh) = (s.fb.width(), s.fb.height());
        let x = ((i64::from(sw) - i64::from(w)) / 2) as i32;
        let y = ((i64::from(sh) - i64::from(h)) / 2) as i32;
        s.fb.clear(0);
        self.placement = Some(Placement { x, y });
        if note.is_empty() {
            note = format!("on a {sw}x{sh} screen at {x},{y}");
        }
        format!("{w}x{h}, {note}")
    }

    pub fn surface_gone(&mut self) {
        self.placement = None;
    }

    /// Copies what changed on the primary surface to the screen (the
    /// cursor stays on top). Returns how many rectangles were drawn.
    pub fn flush(&mut self, screen: &mut Option<Screen>, session: &mut Session) -> usize {
        let damage = session.canvas_mut().take_damage(0);
        let areas = damage.iter().map(|r| Area::new(r.left, r.top, r.width(), r.height()));
        let n = self.redraw(screen, session, areas);
        self.rects += n as u64;
        n
    }

    /// Draws the whole primary surface again (after a banner or the menu
    /// covered it); pending damage is part of it.
    pub fn repaint(&mut self, screen: &mut Option<Screen>, session: &mut Session) {
        session.canvas_mut().take_damage(0);
        let Some(surface) = session.canvas().primary() else { return };
        let all = Area::new(0, 0, surface.width(), surface.height());
        if let Some(s) = screen.as_mut() {
            s.fb.clear(0);
        }
        let n = self.redraw(screen, session, core::iter::once(all));
        self.rects += n as u64;
    }

    /// The session's cursor changed: draw it where it is now and restore
    /// the desktop where it was. Returns a line for the log when the shape
    /// comes, goes or changes size.
    pub fn cursor_changed(&mut self, screen: &mut Option<Screen>, session: &Session) -> Option<String> {
        let c = session.cursor();
        let shape = c.shape.as_ref().map(|s| (s.pixels.width, s.pixels.height, s.hot_x, s.hot_y));
        let line = (shape != self.cursor_logged).then(|| match shape {
            Some((w, h, x, y)) => format!("cursor shape {w}x{h}, hot spot {x},{y}"),
            None => String::from("cursor shape none"),
        });
        self.cursor_logged = shape;
        let sprite = c.shape.as_ref().map(|s| SpriteView {
            argb: &s.pixels.data,
            width: s.pixels.width,
            height: s.pixels.height,
            hot_x: s.hot_x.into(),
            hot_y: s.hot_y.into(),
        });
        let areas = self.cursor.update(sprite, c.x, c.y, c.visible);
        self.redraw(screen, session, areas.into_iter().flatten());
        line
    }

    /// Draws `areas` of the primary surface (with the cursor); returns how many.
    fn redraw(&mut self, screen: &mut Option<Screen>, session: &Session, areas: impl Iterator<Item = Area>) -> usize {
        let (Some(p), Some(s)) = (self.placement, screen.as_mut()) else { return 0 };
        let Some(surface) = session.canvas().primary() else { return 0 };
        let image = Image {
            pixels: surface.data(),
            stride: surface.stride(),
            width: surface.width(),
            height: surface.height(),
        };
        let bounds = Area::new(0, 0, image.width, image.height);
        let mut n = 0;
        for a in areas {
            let a = a.intersect(&bounds);
            if !a.is_empty() && self.cursor.draw(&mut s.fb, (p.x, p.y), &image, a).is_ok() {
                n += 1;
                self.pixels += u64::from(a.w) * u64::from(a.h);
            }
        }
        n
    }
}
