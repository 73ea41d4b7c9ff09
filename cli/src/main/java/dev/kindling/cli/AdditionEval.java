package dev.kindling.cli;

import dev.kindling.autograd.Grad;
import dev.kindling.models.Gpt;
import dev.kindling.models.KVCache;
import dev.kindling.tasks.AdditionTask;
import dev.kindling.tensor.Tensor;

/** Exact-match accuracy of greedy answers on the addition task's held-out pairs, decoded as one batch with a KV cache. */
final class AdditionEval {
    private AdditionEval() {}

    static double exactMatch(Gpt model, AdditionTask task) {
        int[] pairs = task.testPairs();
        int p = task.promptLength(), batch = pairs.length;
        long[] ids = new long[batch * p];
        for (int i = 0; i < batch; i++) System.arraycopy(AdditionTask.ids(task.prompt(pairs[i])), 0, ids, i * p, p);
        StringBuilder[] answers = new StringBuilder[batch];
        for (int i = 0; i < batch; i++) answers[i] = new StringBuilder();
        model.eval();
        try (var noGrad = Grad.disabled()) {
            var cache = new KVCache(model.config, batch, task.sequenceLength() - 1); // the last answer token is never fed back
            Tensor x = Tensor.wrapLongs(ids, batch, p);
            for (int step = 0; step < task.answerLength(); step++) {
                long[] next = model.nextTokenLogits(x, cache).argmax(1, false).toLongArray();
                for (int i = 0; i < batch; i++) answers[i].append(AdditionTask.VOCABULARY.charAt((int) next[i]));
                x = Tensor.wrapLongs(next, batch, 1);
            }
        }
        model.train();
        int correct = 0;
        for (int i = 0; i < batch; i++) if (answers[i].toString().equals(task.answer(pairs[i]))) correct++;
        return (double) correct / batch;
    }
}
