package dev.kindling.server;

import dev.kindling.inference.Sampler;
import dev.kindling.models.KVCache;
import dev.kindling.tokenizers.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;

/**
 * One generated choice in flight: its prompt, sampling settings, KV cache and the text produced so far. The
 * scheduler thread feeds it tokens ({@link #accept}); it turns them into text deltas on the request's event queue,
 * holding back what might be the start of a stop sequence or half of a multi-byte character.
 */
final class Sequence {
    /** What a request's handler receives, in order, for each of its choices. */
    sealed interface Event permits Delta, Done {}

    record Delta(int index, String text) implements Event {}

    /** The end of choice {@code index}: finishReason is stop, length, cancelled, timeout or error. */
    record Done(int index, String finishReason, int promptTokens, int completionTokens, String error) implements Event {}

    final int index;
    final int[] prompt;
    final int maxTokens;
    final Sampler sampler;
    final List<String> stops;
    final long deadlineNanos;
    private final Tokenizer tokenizer;
    private final int eos;
    private final BlockingQueue<Event> events;
    private volatile boolean cancelled;

    KVCache cache;
    /** The token to feed at the next step. */
    int last;
    private int[] generated = new int[16];
    private int count, emitted;
    private boolean finished;
    private String reason;

    Sequence(int index, int[] prompt, int maxTokens, Sampler sampler, List<String> stops, long deadlineNanos, Tokenizer tokenizer,
             int eos, BlockingQueue<Event> events) {
        this.index = index;
        this.prompt = prompt;
        this.maxTokens = maxTokens;
        this.sampler = sampler;
        this.stops = stops;
        this.deadlineNanos = deadlineNanos;
        this.tokenizer = tokenizer;
        this.eos = eos;
        this.events = events;
    }

    /** Asks the scheduler to drop this sequence at the next token boundary (client gone, timeout). */
    void cancel() {
        cancelled = true;
    }

    boolean cancelled() {
        return cancelled;
    }

    boolean expired(long now) {
        return now - deadlineNanos > 0;
    }

    boolean finished() {
        return finished;
    }

    /** How the sequence ended (null while it runs). */
    String lastReason() {
        return reason;
    }

    int completionTokens() {
        return count;
    }

    /** Takes the next sampled token; returns true when the sequence is finished (its Done event is sent). */
    boolean accept(int id) {
        if (id == eos) {
            finish("stop");
            return true;
        }
        if (count == generated.length) generated = Arrays.copyOf(generated, count * 2);
        generated[count++] = id;
        last = id;
        String text = tokenizer.decode(Arrays.copyOf(generated, count));
        int stopAt = -1;
        for (String s : stops) {
            int at = text.indexOf(s, Math.max(0, emitted - s.length()));
            if (at >= 0 && (stopAt < 0 || at < stopAt)) stopAt = at;
        }
        if (stopAt >= 0) {
            emit(text, stopAt);
            done("stop", null);
            return true;
        }
        if (count >= maxTokens) {
            emit(text, text.length());
            done("length", null);
            return true;
        }
        int safe = text.length();
        while (safe > emitted && text.charAt(safe - 1) == '\uFFFD') safe--;   // a character still being completed
        for (String s : stops)
            for (int k = Math.min(s.length() - 1, text.length()); k > 0; k--)
                if (text.regionMatches(text.length() - k, s, 0, k)) {
                    safe = Math.min(safe, text.length() - k);
                    break;
                }
        emit(text, safe);
        return false;
    }

    /** Ends the sequence (end of text, context full, cancelled, timed out), sending what was held back. */
    void finish(String reason) {
        if (finished) return;
        if (count > 0) emit(tokenizer.decode(Arrays.copyOf(generated, count)), Integer.MAX_VALUE);
        done(reason, null);
    }

    void fail(String message) {
        if (!finished) done("error", message);
    }

    private void emit(String text, int upTo) {
        upTo = Math.min(upTo, text.length());
        if (upTo > emitted) {
            events.add(new Delta(index, text.substring(emitted, upTo)));
            emitted = upTo;
        }
    }

    private void done(String reason, String error) {
        finished = true;
        this.reason = reason;
        cache = null; // the cache is the largest thing a sequence holds: free it now, not when the client goes
        events.add(new Done(index, reason, prompt.length, count, error));
    }
}
