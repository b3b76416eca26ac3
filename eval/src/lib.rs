//! Checks over worker reports, scheduler events and payload metrics (filled in by the scheduler test loop).
#![deny(missing_docs)]
