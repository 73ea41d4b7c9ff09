package dev.kindling.nn;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

/** The gradient check must catch a wrong backward, or the layer tests prove nothing. */
class FiniteDifferencesTest {
    @Test
    void acceptsARightBackwardAndRejectsAWrongOne() {
        Tensor x = Tensor.randn(new Generator(1), 3, 4).requiresGrad(true);
        FiniteDifferences.check("square", () -> x.mul(x), x);
        // forward 2x, backward claims 2.02x: a 1% error
        assertThrows(AssertionFailedError.class, () -> FiniteDifferences.check("off by 1%",
                () -> Tensor.customOp("twice", Tensor.wrap(x.toFloatArray(), 3, 4).mul(2), g -> new Tensor[] {g.mul(2.02)}, x), x));
    }
}
