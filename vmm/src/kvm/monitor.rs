//! The host side of a running machine as an event loop (event-manager):
//! a 2 ms timer drains the wire (ring region and COM2) and enforces the
//! watchdog and Ctrl-C, a 50 ms timer probes whether every vCPU is parked
//! for good, and an eventfd wakes the loop the moment a vCPU reports why
//! the guest stopped. Port I/O itself is handled on the vCPU threads, where
//! KVM delivers it.

use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use event_manager::{EventManager, EventOps, EventSet, Events, MutEventSubscriber, SubscriberOps};
use ktstr_wire::{Message, RingReader};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
use vmm_sys_util::signal::Killable;
use vmm_sys_util::timerfd::TimerFd;

use super::stop::GuestStop;
use super::vcpu::{kick_signal, Shared};
use crate::wire_in::{Transport, WireIn};
use crate::{stop_requested, VmError, WireStats};

/// How often the wire is drained while the guest runs.
const POLL: Duration = Duration::from_millis(2);
/// How often the vCPUs are kicked to check whether all are halted for good.
const PROBE: Duration = Duration::from_millis(50);

/// The wire's two transports, read into one [`WireIn`].
pub(crate) struct Wire {
    /// Host address and length of the ring region, if it is mapped.
    ring: Option<(*mut u8, usize)>,
    reader: Option<RingReader>,
    wire_in: WireIn,
    com2: Arc<Mutex<Vec<u8>>>,
    buf: Vec<u8>,
}

impl Wire {
    /// `ring` must stay mapped until the Wire is dropped; the guest is its
    /// only writer and this Wire its only reader.
    pub(crate) fn new(ring: Option<(*mut u8, usize)>, com2: Arc<Mutex<Vec<u8>>>) -> Self {
        Wire {
            ring,
            reader: None,
            wire_in: WireIn::new(),
            com2,
            buf: Vec::with_capacity(64 << 10),
        }
    }

    /// Decodes whatever arrived since the last call.
    fn drain(&mut self) {
        if self.reader.is_none() {
            if let Some((ptr, len)) = self.ring {
                // SAFETY: `new`'s contract: the region stays mapped while
                // this Wire lives, the guest writes and only we read. Attach
                // fails until the guest has initialised the header.
                self.reader = unsafe { RingReader::attach(ptr, len) }.ok();
            }
        }
        if let Some(r) = self.reader.as_mut() {
            self.buf.clear();
            r.read_into(&mut self.buf);
            self.wire_in.feed(Transport::Ring, &self.buf);
        }
        let bytes = std::mem::take(&mut *self.com2.lock().unwrap_or_else(|e| e.into_inner()));
        self.wire_in.feed(Transport::Serial, &bytes);
    }

    /// Kept messages not handed on yet.
    pub(crate) fn fresh(&mut self) -> &[Message] {
        self.wire_in.fresh()
    }

    /// Drains the rest and ends both streams: the messages (those not yet
    /// handed on are also passed to `on_message`), the counters and the ring
    /// header's corruption count.
    pub(crate) fn finish(
        mut self,
        on_message: &mut dyn FnMut(&Message),
    ) -> (Vec<Message>, WireStats, u64) {
        self.drain();
        let (messages, mut wire) = self.wire_in.finish(on_message);
        let corruptions = self.reader.as_ref().map_or(0, |r| {
            wire.ring_dropped_frames = r.dropped_frames();
            wire.ring_dropped_bytes = r.dropped_bytes();
            r.corruptions()
        });
        (messages, wire, corruptions)
    }
}

/// The loop's one subscriber.
struct Monitor {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    wire: Wire,
    tick: TimerFd,
    probe: TimerFd,
    stopped: EventFd,
    start: Instant,
    timeout: Duration,
    parked_rounds: u32,
}

impl Monitor {
    fn stop(&self, why: GuestStop) {
        self.shared.set_reason(why);
    }

    fn on_tick(&mut self) {
        self.wire.drain();
        if stop_requested() {
            self.stop(GuestStop::Interrupted);
        } else if self.start.elapsed() > self.timeout {
            self.stop(GuestStop::Watchdog {
                after: self.timeout,
            });
        }
    }

    fn on_probe(&mut self) {
        let parked = self.shared.parked.iter().all(|p| p.load(Ordering::Acquire));
        self.parked_rounds = if parked { self.parked_rounds + 1 } else { 0 };
        // Two rounds: a vCPU woken between two probes is seen running.
        if self.parked_rounds >= 2 {
            self.stop(GuestStop::Halted);
            return;
        }
        // Each kicked vCPU records whether it is parked on its way out.
        for t in &self.threads {
            let _ = t.kill(kick_signal());
        }
    }
}

impl MutEventSubscriber for Monitor {
    fn process(&mut self, events: Events, _ops: &mut EventOps) {
        let fd = events.fd();
        if fd == self.tick.as_raw_fd() {
            let _ = self.tick.wait();
            self.on_tick();
        } else if fd == self.probe.as_raw_fd() {
            let _ = self.probe.wait();
            self.on_probe();
        } else if fd == self.stopped.as_raw_fd() {
            let _ = self.stopped.read();
        }
    }

    fn init(&mut self, ops: &mut EventOps) {
        for fd in [
            self.tick.as_raw_fd(),
            self.probe.as_raw_fd(),
            self.stopped.as_raw_fd(),
        ] {
            // Registration fails only on a closed fd; the loop then still
            // ends by the vCPUs' reason or the caller's timeout.
            let _ = ops.add(Events::new_raw(fd, EventSet::IN));
        }
    }
}

/// The loop's timers and event manager, made before any vCPU starts so
/// that a failure leaves nothing to stop.
pub(crate) struct EventLoop {
    tick: TimerFd,
    probe: TimerFd,
    stopped: EventFd,
    em: EventManager<Rc<RefCell<Monitor>>>,
}

impl EventLoop {
    /// Timers armed, the vCPUs' stop eventfd `stopped` watched.
    ///
    /// # Errors
    /// [`VmError::Io`] when a timer, the eventfd clone or epoll fails.
    pub(crate) fn new(stopped: &EventFd) -> Result<Self, VmError> {
        let io = |what: &'static str| {
            move |e: vmm_sys_util::errno::Error| VmError::Io {
                what: what.into(),
                source: std::io::Error::from_raw_os_error(e.errno()),
            }
        };
        let mut tick = TimerFd::new().map_err(io("create the wire timer"))?;
        tick.reset(POLL, Some(POLL))
            .map_err(io("arm the wire timer"))?;
        let mut probe = TimerFd::new().map_err(io("create the probe timer"))?;
        probe
            .reset(PROBE, Some(PROBE))
            .map_err(io("arm the probe timer"))?;
        let stopped = stopped
            .try_clone()
            .map_err(VmError::io("clone the stop eventfd"))?;
        let em = EventManager::new().map_err(|e| VmError::Io {
            what: "create the event loop".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(EventLoop {
            tick,
            probe,
            stopped,
            em,
        })
    }

    /// Runs until a stop reason is set (by a vCPU or by the loop: watchdog,
    /// Ctrl-C, all halted), handing each decoded message to `on_message`
    /// as it arrives. Returns the threads, still to be
    /// stopped by the caller, and the wire, still to be finished.
    pub(crate) fn run(
        self,
        shared: &Arc<Shared>,
        threads: Vec<JoinHandle<()>>,
        wire: Wire,
        timeout: Duration,
        on_message: &mut dyn FnMut(&Message),
    ) -> (Vec<JoinHandle<()>>, Wire) {
        let EventLoop {
            tick,
            probe,
            stopped,
            mut em,
        } = self;
        let monitor = Rc::new(RefCell::new(Monitor {
            shared: Arc::clone(shared),
            threads,
            wire,
            tick,
            probe,
            stopped,
            start: Instant::now(),
            timeout,
            parked_rounds: 0,
        }));
        let id = em.add_subscriber(Rc::clone(&monitor));
        loop {
            // An error is EINTR (a signal to this thread): look again.
            let _ = em.run_with_timeout(PROBE.as_millis() as i32);
            for m in monitor.borrow_mut().wire.fresh() {
                on_message(m);
            }
            if shared
                .reason
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
            {
                break;
            }
        }
        let _ = em.remove_subscriber(id);
        drop(em);
        let Ok(monitor) = Rc::try_unwrap(monitor) else {
            unreachable!("the event manager was dropped with its only other reference");
        };
        let monitor = monitor.into_inner();
        (monitor.threads, monitor.wire)
    }
}

/// A nonblocking eventfd the vCPUs write when they set a stop reason.
pub(crate) fn stop_eventfd() -> Result<EventFd, VmError> {
    EventFd::new(EFD_NONBLOCK).map_err(VmError::io("create the stop eventfd"))
}
