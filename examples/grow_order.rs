//! Grows one order to COUNT note entries quickly (notes are committed in
//! batches of 1000, one durable commit each). Used by `scripts/bench` to
//! measure the cost of appending to a very long order.
//!
//! ```sh
//! cargo run --release --example grow_order -- --vault DIR --order ID --count 100000
//! ```

use std::error::Error;

use evault_core::{Actor, OrderId, Vault};

const BATCH: u64 = 1000;

fn main() -> Result<(), Box<dyn Error>> {
    let (mut vault, mut order, mut count) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--vault" => vault = Some(value),
            "--order" => order = Some(value.parse::<OrderId>()?),
            "--count" => count = Some(value.parse::<u64>()?),
            _ => return Err(format!("unknown argument {flag}").into()),
        }
    }
    let usage = "usage: grow_order --vault DIR --order ID --count N";
    let vault = Vault::open(vault.ok_or(usage)?)?;
    let (order, count) = (order.ok_or(usage)?, count.ok_or(usage)?);
    let actor = Actor::new("bench", "grow-order")?;
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let texts = (done..done + n).map(|i| format!("filler note {}", i + 1));
        vault.notes(&order, texts, &actor)?;
        done += n;
    }
    println!("{order}: {done} notes appended");
    Ok(())
}
