package dev.kindling.nn;

import dev.kindling.tensor.Generator;
import dev.kindling.tensor.Tensor;

/**
 * 2-d convolution over [N, C_in, H, W] (PyTorch's nn.Conv2d); see {@link Functional#conv2d}.
 * <p>Shape: input [N, in, H, W], output [N, out, oh, ow]. Weight [out, in/groups, kh, kw] and bias [out] ~
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in/groups * kh * kw (kaiming_uniform with a = sqrt(5)).
 * <pre>{@code var conv = new Conv2d(3, 32, 3, 1, 1); conv.forward(Tensor.zeros(8, 3, 32, 32)).shape(); // [8, 32, 32, 32]}</pre>
 */
public class Conv2d extends Module {
    public final int inChannels, outChannels, groups;
    private final int[] kernel, stride, padding, dilation;
    private final boolean same;
    public final Tensor weight, bias;

    /** Stride 1, no padding, with bias. */
    public Conv2d(int inChannels, int outChannels, int kernel) {
        this(inChannels, outChannels, kernel, 1, 0);
    }

    /** A square kernel with the given stride and padding, with bias. */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding) {
        this(inChannels, outChannels, new int[] {kernel}, new int[] {stride}, new int[] {padding}, new int[] {1}, 1, true, Generator.global());
    }

    /** Every setting; 1-element arrays apply to both dims. */
    public Conv2d(int inChannels, int outChannels, int[] kernel, int[] stride, int[] padding, int[] dilation, int groups,
                  boolean bias, Generator g) {
        this(inChannels, outChannels, kernel, stride, padding, dilation, groups, bias, g, false);
    }

    /** Stride 1 and "same" padding: the output is as large as the input. */
    public static Conv2d same(int inChannels, int outChannels, int[] kernel, int[] dilation, int groups, boolean bias, Generator g) {
        return new Conv2d(inChannels, outChannels, kernel, new int[] {1}, new int[] {0}, dilation, groups, bias, g, true);
    }

    private Conv2d(int inChannels, int outChannels, int[] kernel, int[] stride, int[] padding, int[] dilation, int groups,
                   boolean bias, Generator g, boolean same) {
        this.kernel = Functional.pair("Conv2d", "kernel", kernel);
        this.stride = Functional.pair("Conv2d", "stride", stride);
        this.padding = Functional.pair("Conv2d", "padding", padding);
        this.dilation = Functional.pair("Conv2d", "dilation", dilation);
        if (inChannels <= 0 || outChannels <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new IllegalArgumentException("Conv2d: channels must be positive and divisible by groups, got in=" + inChannels
                    + " out=" + outChannels + " groups=" + groups);
        if (this.kernel[0] <= 0 || this.kernel[1] <= 0)
            throw new IllegalArgumentException("Conv2d: kernel size must be positive, got " + java.util.Arrays.toString(kernel));
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.groups = groups;
        this.same = same;
        this.weight = registerParameter("weight", Tensor.zeros(outChannels, inChannels / groups, this.kernel[0], this.kernel[1]));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(outChannels)) : null;
        resetParameters(g);
    }

    /** PyTorch's default init. */
    public void resetParameters(Generator g) {
        Init.kaimingUniform(weight, Math.sqrt(5), "leaky_relu", true, g);
        if (bias != null) {
            double bound = 1 / Math.sqrt((double) inChannels / groups * kernel[0] * kernel[1]);
            Init.uniform(bias, -bound, bound, g);
        }
    }

    @Override
    public Tensor forward(Tensor x) {
        if (same) return Functional.conv2d(x, weight, bias, "same", dilation, groups);
        return Functional.conv2d(x, weight, bias, stride, padding, dilation, groups);
    }

    /**
     * {@code forward(x).relu()} in one op ({@link Functional#conv2dRelu}): the usual conv-ReLU pair of a CNN
     * without the intermediate tensor.
     */
    public Tensor forwardRelu(Tensor x) {
        if (same) { // as Functional.conv2d(x, w, b, "same", ...): an odd total padding puts the extra row/column last
            int th = dilation[0] * (kernel[0] - 1), tw = dilation[1] * (kernel[1] - 1);
            return Convolution.conv2dRelu(x, weight, bias, 1, 1, th / 2, th - th / 2, tw / 2, tw - tw / 2, dilation[0], dilation[1], groups);
        }
        return Functional.conv2dRelu(x, weight, bias, stride, padding, dilation, groups);
    }

    /**
     * {@code Functional.maxPool2d(forward(x).relu(), 2, 2, 0)} in one op ({@link Functional#conv2dReluMaxPool2d}):
     * the conv-ReLU-pool block without the full-size activation and gradient tensors between the three.
     */
    public Tensor forwardReluMaxPool(Tensor x) {
        if (same) {
            int th = dilation[0] * (kernel[0] - 1), tw = dilation[1] * (kernel[1] - 1);
            return Convolution.conv2dReluPool(x, weight, bias, 1, 1, th / 2, th - th / 2, tw / 2, tw - tw / 2, dilation[0], dilation[1], groups);
        }
        return Functional.conv2dReluMaxPool2d(x, weight, bias, stride, padding, dilation, groups);
    }

    @Override
    protected String extraRepr() {
        return inChannels + ", " + outChannels + ", kernel_size=(" + kernel[0] + ", " + kernel[1] + "), stride=(" + stride[0] + ", " + stride[1]
                + "), padding=" + (same ? "same" : "(" + padding[0] + ", " + padding[1] + ")")
                + (dilation[0] != 1 || dilation[1] != 1 ? ", dilation=(" + dilation[0] + ", " + dilation[1] + ")" : "")
                + (groups != 1 ? ", groups=" + groups : "") + (bias == null ? ", bias=False" : "");
    }
}
