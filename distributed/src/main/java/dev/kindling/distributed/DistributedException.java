package dev.kindling.distributed;

/**
 * A collective or rendezvous failed: a peer died, closed its connection, or did not answer within the
 * timeout. The message names the collective and the rank(s) at fault. The process group is unusable after
 * this; the training job should exit (the launcher then stops the remaining ranks).
 */
public class DistributedException extends RuntimeException {
    public DistributedException(String message) {
        super(message);
    }

    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }
}
