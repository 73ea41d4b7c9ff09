package dev.kindling.kernels;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs each test of a class with two kernel threads and restores the previous count afterwards, so the parallel
 * split paths are exercised even on a one-core runner. Use with {@code @ExtendWith(TwoKernelThreads.class)}.
 */
final class TwoKernelThreads implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(TwoKernelThreads.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("saved", Parallel.threads());
        Parallel.setThreads(2);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Parallel.setThreads(context.getStore(NS).get("saved", Integer.class));
    }
}
