package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kindling.autograd.Grad;
import dev.kindling.tensor.ActivationArena;
import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A conv + pool + linear net trained with its activations and saved buffers recycled (ActivationArena, SavedBuffers)
 * gives the same losses, gradients and weights bit for bit as with nothing recycled (a retained graph).
 */
class ConvRecyclingTest {
    private static final int N = 4, C = 2, H = 16, W = 16; // every activation and saved buffer is long enough to be pooled

    private static Tensor net(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor fc) {
        int[] one = {1};
        Tensor h = Functional.conv2dReluMaxPool2d(x, w1, b1, one, one, one, 1);          // (N, 24, 8, 8)
        h = Functional.conv2dRelu(h, w2, b2, one, one, one, 1);                           // (N, 72, 8, 8)
        h = Functional.maxPool2d(h, new int[] {3}, new int[] {2}, new int[] {1}, one, false); // (N, 72, 4, 4)
        return h.flatten(1, -1).linear(fc, null);                                          // (N, 5)
    }

    /** Alternates steps of two identical nets, one recycling and one not, so each reuses arrays the other left. */
    @Test
    void recycledTrainingEqualsTrainingThatKeepsEverything() {
        List<float[]> plain = new ArrayList<>(), recycled = new ArrayList<>();
        var g = new Generator(7);
        Tensor[][] params = new Tensor[2][];
        for (int m = 0; m < 2; m++) {
            var pg = new Generator(11);
            params[m] = new Tensor[] {Tensor.randn(pg, 24, C, 3, 3).mul(0.3f), Tensor.randn(pg, 24).mul(0.1f),
                    Tensor.randn(pg, 72, 24, 3, 3).mul(0.1f), Tensor.randn(pg, 72).mul(0.1f), Tensor.randn(pg, 5, 72 * 16).mul(0.05f)};
            for (int i = 0; i < params[m].length; i++) params[m][i] = params[m][i].detach().requiresGrad(true);
        }
        for (int step = 0; step < 4; step++) {
            Tensor x = Tensor.randn(g, N, C, H, W);
            for (int m = 0; m < 2; m++) {
                Tensor[] p = params[m];
                boolean recycle = m == 1;
                Tensor out = recycle ? ActivationArena.run(() -> net(x, p[0], p[1], p[2], p[3], p[4])) : net(x, p[0], p[1], p[2], p[3], p[4]);
                Tensor loss = out.mul(out).mean();
                loss.backward(null, !recycle); // a retained graph recycles nothing
                List<float[]> seen = recycle ? recycled : plain;
                seen.add(new float[] {loss.item()});
                seen.add(out.toFloatArray());
                try (var off = Grad.disabled()) {
                    for (Tensor t : p) {
                        seen.add(t.grad().toFloatArray());
                        t.copyFrom(t.sub(t.grad().mul(0.1f)));
                        t.zeroGrad();
                    }
                }
            }
        }
        assertEquals(plain.size(), recycled.size());
        for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), recycled.get(i), "value " + i);
    }
}
