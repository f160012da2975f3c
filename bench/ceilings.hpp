#pragma once

// The ceilings Gale's figures are divided by, measured in the same run on the same machine.

#include <cstdint>
#include <string>
#include <vector>

#include "bench/proc.hpp"

namespace gale::bench {

// Hand-written word count without a framework, on as many threads as Gale's local word count:
// a spout thread cycles the same five sentences as std::string into batches of 100, hands them
// over a bounded queue (mutex + condition variables, 64 batches) to a split thread, which splits
// each sentence into std::string words (no allocation: they fit the small-string buffer) in
// batches of 100 over a second such queue to a count thread, which does ++counts[word] in a
// std::unordered_map<std::string, std::int64_t>. Figures: sink_rate (words/s), seconds, cpu_cores,
// other_cores (as in run_local).
Figures run_handwritten(double warmup_s, double duration_s);

// What Gale's ZeroMQ transport carries for word count on two workers, batch by batch: encoded with
// Gale's own encoder (gale::wire::encode_batch), topology.producer.batch.size (64) messages per
// batch as executors hand them over when busy. Per 320 sentences (2048 words): the sentence tuples
// (spout -> split) and the word tuples (split -> count); with acking on also the anchors in every
// tuple, the acker inits (spout -> acker), the acks of count (count -> acker) and the spout acks
// (acker -> spout), i.e. everything that crosses when spout and count share one worker and split
// and the acker the other.
struct WireModel {
  std::vector<std::string> batches;  // encoded, in sending order
  std::uint64_t words = 0;           // words whose traffic the batches carry
  std::uint64_t bytes = 0;           // sum of the batch sizes
};
WireModel wordcount_wire_model(bool acking);

// The raw ZeroMQ ceiling, two processes: zmq_send pushes the model's batches round-robin over one
// PUSH socket connected to tcp://127.0.0.1:port for `seconds` (or until the receiver stops taking
// them); zmq_receive binds the PULL socket, waits up to 10 s for the first message, lets
// `warmup_s` pass, then counts messages and bytes over `duration_s`.
// zmq_receive's figures: msgs_per_s, bytes_per_s, seconds.
void zmq_send(int port, bool acking, double seconds);
Figures zmq_receive(int port, double warmup_s, double duration_s);

}  // namespace gale::bench
