// fflate 0.8.3 as a permessage-deflate engine, for the engine comparison only (bench group
// "engines"). Its Deflate.flush(true) writes the empty stored block at the wrong bit offset (it
// passes the saved state `r`, the pending byte << 3 | bit count, where the bit count belongs, and
// leaves out the BFINAL bit), so output like "1b 00 00 00 00 00" appears where "00 00 ff ff"
// belongs. Here the flush is done by hand on fflate's internal state: compress what is buffered
// without a flush block, then write the pending bits and an empty non-final stored block ourselves.
import { Deflate, Inflate } from "fflate";

const join = (chunks) => {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) (out.set(c, at), (at += c.length));
  return out;
};

export function fflateSyncFlush(level) {
  let chunks = [];
  const d = new Deflate({ level }, (c) => chunks.push(c));
  return {
    compress(data) {
      chunks = [];
      d.push(data, false);
      d.p(d.b, false); // fflate's flush() without its broken sync block
      d.s.w = d.s.i;
      d.s.i -= 2;
      const r = d.s.r | 0; // pending byte << 3 | number of its bits in use
      const headerEnd = (r & 7) + 3; // BFINAL=0 and BTYPE=00 follow the pending bits
      const at = Math.ceil(headerEnd / 8);
      const tail = new Uint8Array(at + 4);
      tail[0] = r >> 3;
      tail.set([0, 0, 0xff, 0xff], at);
      d.s.r = 0;
      chunks.push(tail);
      return join(chunks);
    },
    close() {},
  };
}

fflateSyncFlush.inflater = () => {
  let chunks = [];
  const i = new Inflate((c) => chunks.push(c));
  return {
    decompress(data) {
      chunks = [];
      i.push(data, false);
      return join(chunks);
    },
    close() {},
  };
};
