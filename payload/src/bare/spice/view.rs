//! What the screen shows: the connecting screen (each step with its state,
//! and an error banner naming the failed step), or the remote desktop,
//! copied from the session's primary surface one damaged rectangle at a
//! time.

use super::super::display::Screen;
use super::super::fault;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use drivers::net::server::Server;
use drivers::screen;
use spice_proto::canvas::Rect;
use spice_proto::session::Session;

/// The connection's steps, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Nic,
    Address,
    Resolve,
    Connect,
    Auth,
    Display,
}

impl Step {
    const ALL: [Step; 6] = [Step::Nic, Step::Address, Step::Resolve, Step::Connect, Step::Auth, Step::Display];

    pub fn name(self) -> &'static str {
        match self {
            Step::Nic => "network card",
            Step::Address => "address",
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
    server: String,
    steps: [(State, String); 6],
    /// (failed step, why, attempt number).
    error: Option<(Step, String, Option<u32>)>,
    /// Seconds until the next attempt (0: none planned).
    retry_in: u64,
    reconnecting: Option<String>,
    /// Something changed since the last draw.
    dirty: bool,
}

impl Progress {
    pub fn new(server: &Server) -> Self {
        Self {
            server: format!("{server}"),
            steps: Default::default(),
            error: None,
            retry_in: 0,
            reconnecting: None,
            dirty: true,
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
    /// Damage rectangles and pixels drawn, for the stats line.
    pub rects: u64,
    pub pixels: u64,
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

    /// Copies what changed on the primary surface to the screen. Returns
    /// how many rectangles were drawn.
    pub fn flush(&mut self, screen: &mut Option<Screen>, session: &mut Session) -> usize {
        let damage = session.canvas_mut().take_damage(0);
        self.draw(screen, session, damage)
    }

    /// Draws the whole primary surface again (an overlay covered it).
    pub fn redraw(&mut self, screen: &mut Option<Screen>, session: &mut Session) -> usize {
        session.canvas_mut().take_damage(0);
        let Some(surface) = session.canvas().primary() else { return 0 };
        let all = Rect::new(0, 0, surface.width() as i32, surface.height() as i32);
        self.draw(screen, session, alloc::vec![all])
    }

    fn draw(&mut self, screen: &mut Option<Screen>, session: &Session, damage: Vec<Rect>) -> usize {
        let (Some(p), Some(s)) = (self.placement, screen.as_mut()) else { return 0 };
        let Some(surface) = session.canvas().primary() else { return 0 };
        let bounds = Rect::new(0, 0, surface.width() as i32, surface.height() as i32);
        let stride = surface.stride();
        let data = surface.data();
        let mut n = 0;
        for r in damage {
            let r = r.intersect(&bounds);
            if r.is_empty() {
                continue;
            }
            // Inside the surface: the offsets are in range and non-negative.
            let start = r.top as usize * stride + r.left as usize;
            let Some(src) = data.get(start..) else { continue };
            if s.fb.blit_xrgb(p.x + r.left, p.y + r.top, r.width(), r.height(), src, stride).is_ok() {
                n += 1;
                self.pixels += u64::from(r.width()) * u64::from(r.height());
            }
        }
        self.rects += n as u64;
        n
    }
}
