package dev.kindling.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A per-epoch progress bar: batches done, items/s and the running loss. Quiet mode prints nothing. */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;
    private final long start = System.nanoTime();
    private long items;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    static Progress start(String task, long total, boolean quiet) {
        if (quiet) return new Progress(null);
        ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250).continuousUpdate().setMaxRenderedLength(110).build();
        return new Progress(bar);
    }

    /** One batch of {@code n} items done; {@code loss} is the running mean. */
    void step(int n, double loss) {
        items += n;
        if (bar == null) return;
        double secs = (System.nanoTime() - start) / 1e9;
        bar.step();
        bar.setExtraMessage(String.format(" %.0f items/s loss %.4f", items / Math.max(secs, 1e-9), loss));
    }

    /** Prints a line of its own (e.g. an evaluation result) without mangling the bar. */
    void println(String line) {
        if (bar == null) {
            System.out.println(line);
            return;
        }
        System.err.print("\r" + " ".repeat(110) + "\r");
        System.err.flush();
        System.out.println(line);
        System.out.flush();
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
