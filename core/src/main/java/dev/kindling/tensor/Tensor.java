package dev.kindling.tensor;

import dev.kindling.autograd.Grad;
import dev.kindling.kernels.Elementwise.Binary;
import dev.kindling.kernels.Elementwise.Unary;
import java.util.Arrays;
import java.util.List;

/**
 * An n-dimensional array: a shape, strides and an offset over a storage array, with PyTorch's semantics.
 * Views (transpose, narrow, expand, ...) share storage and cost no copy; ops return new tensors (no
 * in-place ops on tensors that take part in autograd). Arithmetic computes in FLOAT32: integer and bool
 * tensors are promoted to FLOAT32 when used in it.
 *
 * <p>Autograd is define-by-run: an op on a tensor with {@link #requiresGrad()} records how to compute the
 * gradients of its inputs; {@link #backward()} walks the graph in reverse and accumulates {@link #grad()}
 * into the leaves. {@link Grad#disabled()} turns recording off.
 *
 * <p>Storage by dtype: FLOAT32 {@code float[]}, INT64 {@code long[]}, INT32 {@code int[]},
 * BOOL/INT8/UINT8 {@code byte[]}, BF16/F16 {@code short[]} (raw bits), FLOAT64 {@code double[]}.
 */
public final class Tensor {
    final DType dtype;
    final Object data;
    final int[] shape;
    final int[] strides;
    final int offset;

    boolean requiresGrad;
    boolean retainsGrad;
    Tensor grad;
    Node gradFn;
    /** Hooks run after backward accumulated into this leaf's grad; null until one is registered. */
    java.util.List<java.util.function.Consumer<Tensor>> postAccumulateGradHooks;
    /** True when {@link #grad}'s storage was allocated by autograd (not handed in through {@link #setGrad}). */
    private boolean gradOwned;
    /** The storage of a gradient dropped by {@link #zeroGrad}, kept to hold the next one (see there). */
    private float[] spareGrad;

    Tensor(DType dtype, Object data, int[] shape, int[] strides, int offset) {
        this.dtype = dtype;
        this.data = data;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    /**
     * A contiguous FLOAT32 tensor over {@code data} itself (no copy: later writes to the array show through).
     * Use {@link #fromArray} for a copy.
     */
    public static Tensor wrap(float[] data, int... shape) {
        checkLength("wrap", data.length, shape);
        return new Tensor(DType.FLOAT32, data, shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    /** An INT64 tensor over {@code data} itself (no copy). */
    public static Tensor wrapLongs(long[] data, int... shape) {
        checkLength("wrapLongs", data.length, shape);
        return new Tensor(DType.INT64, data, shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    // ---------------------------------------------------------------- creation

    /** A FLOAT32 tensor holding a copy of {@code data} in the given shape. */
    public static Tensor fromArray(float[] data, int... shape) {
        checkLength("fromArray", data.length, shape);
        return wrap(data.clone(), shape.clone());
    }

    /** An INT64 tensor (ids, labels) holding a copy of {@code data}. */
    public static Tensor fromLongs(long[] data, int... shape) {
        checkLength("fromLongs", data.length, shape);
        return new Tensor(DType.INT64, data.clone(), shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    /** An INT32 tensor holding a copy of {@code data}. */
    public static Tensor fromInts(int[] data, int... shape) {
        checkLength("fromInts", data.length, shape);
        return new Tensor(DType.INT32, data.clone(), shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    /** A 0-dim FLOAT32 tensor. */
    public static Tensor scalar(float value) {
        return wrap(new float[] {value}, new int[0]);
    }

    private static void checkLength(String op, int length, int[] shape) {
        int n = Shapes.numel(shape);
        if (n != length)
            throw new IllegalArgumentException(op + ": " + length + " values do not fill shape " + Shapes.str(shape) + " (" + n + " elements)");
    }

    public static Tensor zeros(int... shape) {
        return wrap(FloatPool.zeros(Shapes.numel(shape)), shape.clone());
    }

    /** A FLOAT32 tensor whose contents are unspecified, for ops that write every element (see {@link FloatPool}). */
    static Tensor uninitialized(int... shape) {
        return wrap(FloatPool.uninitialized(Shapes.numel(shape)), shape.clone());
    }

    /**
     * A FLOAT32 tensor whose contents are unspecified, like PyTorch's {@code torch.empty}: for kernels that write
     * every element, which then skip the zero fill (the array may come from the training step's pool).
     */
    public static Tensor empty(int... shape) {
        return uninitialized(shape);
    }

    public static Tensor ones(int... shape) {
        return full(1f, shape);
    }

    public static Tensor full(float value, int... shape) {
        float[] d = new float[Shapes.numel(shape)];
        Arrays.fill(d, value);
        return wrap(d, shape.clone());
    }

    /** A zero tensor of the given dtype. */
    public static Tensor zeros(DType dtype, int... shape) {
        int n = Shapes.numel(shape);
        return new Tensor(dtype, Storage.allocate(dtype, n), shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    public static Tensor zerosLike(Tensor t) {
        return zeros(t.shape);
    }

    public static Tensor onesLike(Tensor t) {
        return ones(t.shape);
    }

    /** 0, 1, ..., n-1 as FLOAT32. */
    public static Tensor arange(int n) {
        return arange(0, n, 1);
    }

    /** start, start+step, ... below end (above end for a negative step), as FLOAT32. */
    public static Tensor arange(double start, double end, double step) {
        if (step == 0 || Double.isNaN(step)) throw new IllegalArgumentException("arange: step must be non-zero, got " + step);
        long n = (long) Math.ceil((end - start) / step);
        if (n < 0) n = 0;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("arange: " + n + " elements is too many");
        float[] d = new float[(int) n];
        for (int i = 0; i < n; i++) d[i] = (float) (start + i * step);
        return wrap(d, new int[] {(int) n});
    }

    /** The n x n identity. */
    public static Tensor eye(int n) {
        float[] d = new float[Shapes.numel(new int[] {n, n})];
        for (int i = 0; i < n; i++) d[i * n + i] = 1f;
        return wrap(d, new int[] {n, n});
    }

    /** Uniform in [0, 1). */
    public static Tensor rand(Generator g, int... shape) {
        float[] d = new float[Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = g.nextFloat();
        return wrap(d, shape.clone());
    }

    /** Uniform in [low, high). */
    public static Tensor uniform(Generator g, float low, float high, int... shape) {
        float[] d = new float[Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = low + (high - low) * g.nextFloat();
        return wrap(d, shape.clone());
    }

    /** Standard normal. */
    public static Tensor randn(Generator g, int... shape) {
        return normal(g, 0f, 1f, shape);
    }

    /** Normal with the given mean and standard deviation. */
    public static Tensor normal(Generator g, float mean, float std, int... shape) {
        float[] d = new float[Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) (mean + std * g.nextGaussian());
        return wrap(d, shape.clone());
    }

    /** INT64 uniform in [low, high). */
    public static Tensor randint(Generator g, long low, long high, int... shape) {
        if (high <= low) throw new IllegalArgumentException("randint: high " + high + " must exceed low " + low);
        if (high - low > Integer.MAX_VALUE) throw new IllegalArgumentException("randint: range " + (high - low) + " is too wide");
        long[] d = new long[Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = low + g.nextInt((int) (high - low));
        return new Tensor(DType.INT64, d, shape.clone(), Shapes.contiguousStrides(shape), 0);
    }

    // ---------------------------------------------------------------- properties

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** Size of a dim (negative counts from the end). */
    public int size(int dim) {
        return shape[Shapes.dim("size", dim, shape.length)];
    }

    /** A copy of the strides, in elements. */
    public int[] strides() {
        return strides.clone();
    }

    public int dim() {
        return shape.length;
    }

    public int numel() {
        return Shapes.numel(shape);
    }

    public boolean isContiguous() {
        return Shapes.isContiguous(shape, strides);
    }

    /** The value of a one-element tensor. */
    public float item() {
        if (numel() != 1)
            throw new IllegalStateException("item: only a one-element tensor has an item, this one has shape " + Shapes.str(shape));
        return (float) Storage.getDouble(dtype, data, offset);
    }

    /** The element at {@code index} (one index per dim). */
    public float get(int... index) {
        return (float) Storage.getDouble(dtype, data, physicalIndex("get", index));
    }

    /** The element at {@code index} as a long (for INT64/INT32 tensors). */
    public long getLong(int... index) {
        return Storage.getLong(dtype, data, physicalIndex("getLong", index));
    }

    private int physicalIndex(String op, int[] index) {
        if (index.length != shape.length)
            throw new IllegalArgumentException(op + ": " + index.length + " indices for a tensor of rank " + shape.length);
        int p = offset;
        for (int d = 0; d < index.length; d++) {
            if (index[d] < 0 || index[d] >= shape[d])
                throw new IndexOutOfBoundsException(op + ": index " + index[d] + " is out of range for dim " + d + " of size " + shape[d]);
            p += index[d] * strides[d];
        }
        return p;
    }

    /** The elements in row-major order, as float (converting from any dtype). */
    public float[] toFloatArray() {
        Tensor c = to(DType.FLOAT32).contiguous();
        float[] d = (float[]) c.data;
        if (c.offset == 0 && d.length == c.numel()) return d == data ? d.clone() : d;
        return Arrays.copyOfRange(d, c.offset, c.offset + c.numel());
    }

    /** The elements in row-major order, as long (floats are truncated toward zero). */
    public long[] toLongArray() {
        Tensor c = to(DType.INT64).contiguous();
        long[] d = (long[]) c.data;
        return Arrays.copyOfRange(d, c.offset, c.offset + c.numel());
    }

    /**
     * The backing float array when this is a contiguous FLOAT32 tensor that spans all of it (for kernels,
     * optimizers and I/O). Writing to it bypasses autograd; callers own that choice.
     */
    public float[] floatData() {
        if (dtype != DType.FLOAT32 || !isContiguous() || offset != 0 || ((float[]) data).length != numel())
            throw new IllegalStateException("floatData: needs a contiguous FLOAT32 tensor that owns its whole storage; call contiguous() first"
                    + " (dtype " + dtype + ", shape " + Shapes.str(shape) + ", offset " + offset + ")");
        return (float[]) data;
    }

    /** Raw storage, for I/O and kernels in other packages: the array behind this tensor (see class doc). */
    public Object storageArray() {
        return data;
    }

    /** Offset of element 0 in {@link #storageArray()}. */
    public int storageOffset() {
        return offset;
    }

    /** Whether {@code other} is a view of the same storage. */
    public boolean sharesStorageWith(Tensor other) {
        return data == other.data;
    }

    @Override
    public String toString() {
        return Printer.format(this);
    }

    // ---------------------------------------------------------------- autograd

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf tensor as a parameter whose gradient backward() accumulates. Returns this. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null && !value)
            throw new IllegalStateException("requiresGrad: cannot turn off requiresGrad on a non-leaf tensor (op '" + gradFn.op + "'); use detach()");
        if (value && !dtype.isFloatingPoint())
            throw new IllegalArgumentException("requiresGrad: only floating-point tensors can require gradients, this one is " + dtype);
        requiresGrad = value;
        return this;
    }

    /** Keeps the gradient of this non-leaf tensor in {@link #grad()} during backward. */
    public Tensor retainGrad() {
        retainsGrad = true;
        return this;
    }

    /** The accumulated gradient, or null. */
    public Tensor grad() {
        return grad;
    }

    public void setGrad(Tensor g) {
        if (g != null && !Arrays.equals(g.shape, shape))
            throw new IllegalArgumentException("setGrad: gradient shape " + Shapes.str(g.shape) + " does not match tensor shape " + Shapes.str(shape));
        grad = g;
        gradOwned = false;
    }

    /**
     * Drops the accumulated gradient: {@link #grad()} is null afterwards (PyTorch's set_to_none=True). The dropped
     * gradient's storage, when autograd allocated it, is kept and filled with the next gradient instead of
     * allocating a new one each step (for a large weight, allocating and zeroing that array cost a tenth of a
     * training step): a gradient tensor obtained before zeroGrad must be copied to be kept past the next backward.
     */
    public void zeroGrad() {
        if (grad != null && gradOwned && grad.dtype == DType.FLOAT32 && grad.offset == 0 && grad.isContiguous()
                && grad.f().length == grad.numel())
            spareGrad = grad.f();
        grad = null;
    }

    /**
     * A float tensor of the given shape (this tensor's shape, for its gradient) whose contents are unspecified:
     * the spare storage that {@link #zeroGrad} kept when it fits, else a new array. For backward functions that
     * overwrite every element of a gradient of this tensor.
     */
    Tensor uninitializedGradBuffer(int... gradShape) {
        float[] spare = spareGrad;
        if (spare != null && grad == null && spare.length == Shapes.numel(gradShape)) {
            spareGrad = null;
            return new Tensor(DType.FLOAT32, spare, gradShape.clone(), Shapes.contiguousStrides(gradShape), 0);
        }
        return zeros(gradShape);
    }

    /** True for tensors created by the user (no recorded op). */
    public boolean isLeaf() {
        return gradFn == null;
    }

    /** Name of the op that produced this tensor, or null for a leaf. */
    public String gradFnName() {
        return gradFn == null ? null : gradFn.op;
    }

    /** Backpropagates from this scalar. */
    public void backward() {
        Backprop.run(this, null, false);
    }

    /** Backpropagates {@code gradient} (same shape as this). */
    public void backward(Tensor gradient) {
        Backprop.run(this, gradient, false);
    }

    /** Backpropagates; with {@code retainGraph} the graph can be traversed again. */
    public void backward(Tensor gradient, boolean retainGraph) {
        Backprop.run(this, gradient, retainGraph);
    }

    /** The same data without the graph: a view that does not require grad. */
    public Tensor detach() {
        return new Tensor(dtype, data, shape, strides, offset);
    }

    /**
     * Registers {@code hook} to run during {@link #backward()} right after this leaf's gradient for that
     * backward has been accumulated into {@link #grad()} (PyTorch's {@code register_post_accumulate_grad_hook}).
     * By then every use of the leaf in the graph has contributed, so the gradient is final for this backward:
     * data-parallel training starts communicating a gradient here, while backward continues with earlier
     * layers. The hook gets this tensor, runs on the thread that runs backward with grad mode off, and may
     * read or replace the gradient; an exception from it ends the backward. Hooks run in registration order.
     *
     * @throws IllegalStateException if this tensor is not a leaf that requires grad (only leaves accumulate)
     */
    public dev.kindling.autograd.RemovableHandle registerPostAccumulateGradHook(java.util.function.Consumer<Tensor> hook) {
        if (gradFn != null)
            throw new IllegalStateException("registerPostAccumulateGradHook: only leaf tensors accumulate gradients, this one comes from op '"
                    + gradFn.op + "'");
        if (!requiresGrad)
            throw new IllegalStateException("registerPostAccumulateGradHook: the tensor of shape " + Shapes.str(shape)
                    + " does not require grad, so backward never accumulates into it");
        java.util.Objects.requireNonNull(hook, "hook");
        if (postAccumulateGradHooks == null) postAccumulateGradHooks = new java.util.concurrent.CopyOnWriteArrayList<>();
        // a fresh wrapper per registration, so removing one registration of a hook added twice removes only it
        java.util.function.Consumer<Tensor> entry = hook::accept;
        postAccumulateGradHooks.add(entry);
        return () -> postAccumulateGradHooks.remove(entry);
    }

    /**
     * Adds g to this tensor's .grad. With {@code exclusive} (the caller knows nothing else can see g's storage),
     * a first gradient that is a whole contiguous float array is taken as it is; otherwise it is copied, since it
     * may alias a saved tensor or another gradient.
     */
    void accumulateGrad(Tensor g, boolean exclusive) {
        if (grad == null) {
            boolean whole = g.dtype == DType.FLOAT32 && g.offset == 0 && g.isContiguous() && g.f().length == g.numel();
            grad = exclusive && whole ? g : g.contiguousCopy();
            gradOwned = true;
            if (spareGrad != null && spareGrad != grad.data) { // the gradient came in fresh storage: the spare can serve others
                FloatPool.recycle(spareGrad);
                spareGrad = null;
            }
        } else {
            grad = Pointwise.accumulate(grad, g);
        }
    }

    /**
     * Records a user-defined differentiable op (PyTorch's autograd.Function): {@code out} is a freshly computed
     * tensor, {@code backward} maps the gradient of out to one gradient per input (null where none is needed).
     * The backward runs with grad mode off. Returns out. Buffers only the backward reads can be drawn from and given
     * back to the training step's pool with {@link SavedBuffers}.
     */
    public static Tensor customOp(String op, Tensor out, java.util.function.Function<Tensor, Tensor[]> backward, Tensor... inputs) {
        if (out.gradFn != null) throw new IllegalArgumentException("customOp " + op + ": out already has grad_fn " + out.gradFn.op);
        return record(out, op, backward::apply, inputs);
    }

    /**
     * Copies {@code src} (broadcast to this shape) into this tensor's storage, in place and outside autograd:
     * for loading weights into parameters and optimizer updates. Returns this.
     */
    public Tensor copyFrom(Tensor src) {
        Shapes.broadcast("copyFrom", src.shape, shape);
        if (!Arrays.equals(Shapes.broadcast("copyFrom", src.shape, shape), shape))
            throw new IllegalArgumentException("copyFrom: source shape " + Shapes.str(src.shape) + " does not broadcast to " + Shapes.str(shape));
        if (dtype == DType.FLOAT32) {
            Views.copyInto(this, src);
        } else {
            Tensor c = src.to(dtype).expand(shape).contiguous();
            Tensor self = contiguous();
            if (self != this || offset != 0) throw new IllegalStateException("copyFrom: non-FLOAT32 destination must be contiguous from offset 0");
            System.arraycopy(c.data, c.offset, data, 0, numel());
        }
        return this;
    }

    /** Attaches a backward function to {@code out} if grad mode is on and any input requires grad. */
    static Tensor record(Tensor out, String op, Node.Backward backward, Tensor... inputs) {
        if (!Grad.isEnabled()) return out;
        for (Tensor t : inputs) {
            if (t != null && t.requiresGrad) {
                out.requiresGrad = true;
                out.gradFn = new Node(op, inputs, backward);
                return out;
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- dtype

    /** This tensor converted to {@code target} (this when it already has that dtype). Differentiable between float types. */
    public Tensor to(DType target) {
        if (target == dtype) return this;
        Tensor out = Storage.convert(this, target);
        if (target.isFloatingPoint() && dtype.isFloatingPoint()) {
            DType from = dtype;
            return record(out, "to", g -> new Tensor[] {g.to(from)}, this);
        }
        return out;
    }

    /** FLOAT32 view of this tensor's values (converting when needed). */
    Tensor toFloat() {
        return to(DType.FLOAT32);
    }

    // ---------------------------------------------------------------- pointwise

    public Tensor add(Tensor o) { return Pointwise.binary(Binary.ADD, this, o); }
    public Tensor sub(Tensor o) { return Pointwise.binary(Binary.SUB, this, o); }
    public Tensor mul(Tensor o) { return Pointwise.binary(Binary.MUL, this, o); }
    public Tensor div(Tensor o) { return Pointwise.binary(Binary.DIV, this, o); }
    public Tensor pow(Tensor o) { return Pointwise.binary(Binary.POW, this, o); }
    /** Elementwise maximum (gradient split evenly at ties, as in PyTorch). */
    public Tensor maximum(Tensor o) { return Pointwise.binary(Binary.MAX, this, o); }
    public Tensor minimum(Tensor o) { return Pointwise.binary(Binary.MIN, this, o); }

    public Tensor add(double s) { return Pointwise.binary(Binary.ADD, this, scalar((float) s)); }
    public Tensor sub(double s) { return Pointwise.binary(Binary.SUB, this, scalar((float) s)); }
    public Tensor mul(double s) { return Pointwise.binary(Binary.MUL, this, scalar((float) s)); }
    public Tensor div(double s) { return Pointwise.binary(Binary.DIV, this, scalar((float) s)); }
    public Tensor pow(double s) { return Pointwise.binary(Binary.POW, this, scalar((float) s)); }

    public Tensor neg() { return Pointwise.unary(Unary.NEG, this); }
    public Tensor exp() { return Pointwise.unary(Unary.EXP, this); }
    public Tensor log() { return Pointwise.unary(Unary.LOG, this); }
    public Tensor sqrt() { return Pointwise.unary(Unary.SQRT, this); }
    public Tensor rsqrt() { return Pointwise.unary(Unary.RSQRT, this); }
    public Tensor abs() { return Pointwise.unary(Unary.ABS, this); }
    public Tensor tanh() { return Pointwise.unary(Unary.TANH, this); }
    public Tensor sigmoid() { return Pointwise.unary(Unary.SIGMOID, this); }
    public Tensor relu() { return Pointwise.unary(Unary.RELU, this); }
    /** GELU with the exact erf form. */
    public Tensor gelu() { return Pointwise.unary(Unary.GELU, this); }
    /** GELU with PyTorch's approximate="tanh" form (GPT-2's). */
    public Tensor geluTanh() { return Pointwise.unary(Unary.GELU_TANH, this); }
    public Tensor silu() { return Pointwise.unary(Unary.SILU, this); }
    public Tensor reciprocal() { return Pointwise.unary(Unary.RECIPROCAL, this); }
    public Tensor sin() { return Pointwise.unary(Unary.SIN, this); }
    public Tensor cos() { return Pointwise.unary(Unary.COS, this); }

    /** Clamps to [min, max]; pass NaN (or infinities) to leave a side open. Gradient flows where min <= x <= max. */
    public Tensor clamp(double min, double max) { return Pointwise.clamp(this, (float) min, (float) max); }

    /** Elementwise comparisons giving BOOL masks. */
    public Tensor eq(Tensor o) { return Pointwise.compare(Binary.EQ, this, o); }
    public Tensor ne(Tensor o) { return Pointwise.compare(Binary.NE, this, o); }
    public Tensor lt(Tensor o) { return Pointwise.compare(Binary.LT, this, o); }
    public Tensor le(Tensor o) { return Pointwise.compare(Binary.LE, this, o); }
    public Tensor gt(Tensor o) { return Pointwise.compare(Binary.GT, this, o); }
    public Tensor ge(Tensor o) { return Pointwise.compare(Binary.GE, this, o); }
    public Tensor eq(double s) { return eq(scalar((float) s)); }
    public Tensor ne(double s) { return ne(scalar((float) s)); }
    public Tensor lt(double s) { return lt(scalar((float) s)); }
    public Tensor le(double s) { return le(scalar((float) s)); }
    public Tensor gt(double s) { return gt(scalar((float) s)); }
    public Tensor ge(double s) { return ge(scalar((float) s)); }

    /** Picks {@code a} where mask is non-zero, {@code b} elsewhere (all three broadcast). */
    public static Tensor where(Tensor mask, Tensor a, Tensor b) { return Pointwise.where(mask, a, b); }

    /** This tensor with {@code value} where {@code mask} is non-zero (mask broadcasts to this shape). */
    public Tensor maskedFill(Tensor mask, double value) { return Pointwise.maskedFill(this, mask, (float) value); }

    /** Zeroes each element with probability p and scales the rest by 1/(1-p); identity when not training or p == 0. */
    public Tensor dropout(double p, boolean training, Generator g) { return Pointwise.dropout(this, p, training, g); }

    // ---------------------------------------------------------------- reductions

    /** Sum of all elements (0-dim). */
    public Tensor sum() { return Reduce.sum(this, null, false); }
    public Tensor sum(int dim) { return Reduce.sum(this, new int[] {dim}, false); }
    public Tensor sum(int dim, boolean keepdim) { return Reduce.sum(this, new int[] {dim}, keepdim); }
    public Tensor sum(int[] dims, boolean keepdim) { return Reduce.sum(this, dims, keepdim); }
    public Tensor mean() { return Reduce.mean(this, null, false); }
    public Tensor mean(int dim) { return Reduce.mean(this, new int[] {dim}, false); }
    public Tensor mean(int dim, boolean keepdim) { return Reduce.mean(this, new int[] {dim}, keepdim); }
    public Tensor mean(int[] dims, boolean keepdim) { return Reduce.mean(this, dims, keepdim); }
    /** Variance with Bessel's correction (correction=1) over all elements. */
    public Tensor var() { return Reduce.var(this, null, 1, false); }
    public Tensor var(int dim) { return Reduce.var(this, new int[] {dim}, 1, false); }
    /** Variance over dims with {@code correction} (1 = unbiased, 0 = population). */
    public Tensor var(int[] dims, int correction, boolean keepdim) { return Reduce.var(this, dims, correction, keepdim); }
    public Tensor std() { return Reduce.var("std", this, null, 1, false).sqrt(); }
    public Tensor std(int dim) { return Reduce.var("std", this, new int[] {dim}, 1, false).sqrt(); }
    public Tensor std(int[] dims, int correction, boolean keepdim) { return Reduce.var("std", this, dims, correction, keepdim).sqrt(); }

    /** Maximum of all elements (0-dim); the gradient is shared evenly among ties. */
    public Tensor max() { return Reduce.extreme(this, true); }
    public Tensor min() { return Reduce.extreme(this, false); }
    /** Maximum along {@code dim} with the index of the first maximum. */
    public ValuesIndices max(int dim, boolean keepdim) { return Reduce.extreme(this, dim, keepdim, true); }
    public ValuesIndices min(int dim, boolean keepdim) { return Reduce.extreme(this, dim, keepdim, false); }
    /** INT64 index of the first maximum along {@code dim}. */
    public Tensor argmax(int dim, boolean keepdim) { return Reduce.extreme(this, dim, keepdim, true).indices(); }
    public Tensor argmin(int dim, boolean keepdim) { return Reduce.extreme(this, dim, keepdim, false).indices(); }
    /** INT64 flat index of the first maximum. */
    public Tensor argmax() { return Reduce.extreme(reshape(-1), 0, false, true).indices(); }

    public Tensor logsumexp(int dim, boolean keepdim) { return Reduce.logsumexp(this, dim, keepdim); }
    public Tensor softmax(int dim) { return Reduce.softmax(this, dim, false); }
    public Tensor logSoftmax(int dim) { return Reduce.softmax(this, dim, true); }

    /** Values and their indices along a dim ({@link #max(int, boolean)}, {@link #min(int, boolean)}). */
    public record ValuesIndices(Tensor values, Tensor indices) {}

    // ---------------------------------------------------------------- linear algebra

    /** Matrix product with PyTorch's rules: 1-D and 2-D operands, batched N-D with broadcast batch dims. */
    public Tensor matmul(Tensor o) { return LinearAlgebra.matmul(this, o); }

    /** x W^T + b with weight [out, in] and optional bias [out]; x is [..., in]. */
    public Tensor linear(Tensor weight, Tensor bias) { return LinearAlgebra.linear(this, weight, bias); }

    // ---------------------------------------------------------------- views and shape

    /** Same data in a new shape (one dim may be -1); a view when strides allow, a copy otherwise. */
    public Tensor reshape(int... newShape) { return Views.reshape(this, newShape, false); }
    /** Like reshape but never copies: fails when the strides do not allow a view. */
    public Tensor view(int... newShape) { return Views.reshape(this, newShape, true); }
    public Tensor transpose(int dim0, int dim1) { return Views.transpose(this, dim0, dim1); }
    /** Transpose of a 2-D tensor. */
    public Tensor t() {
        if (shape.length != 2) throw new IllegalArgumentException("t: expects a 2-D tensor, got shape " + Shapes.str(shape));
        return transpose(0, 1);
    }
    public Tensor permute(int... dims) { return Views.permute(this, dims); }
    /** This tensor if contiguous, else a contiguous copy. */
    public Tensor contiguous() { return Views.contiguous(this); }
    public Tensor squeeze() { return Views.squeeze(this, null); }
    public Tensor squeeze(int dim) { return Views.squeeze(this, dim); }
    public Tensor unsqueeze(int dim) { return Views.unsqueeze(this, dim); }
    /** Broadcasts size-1 dims to {@code sizes} (-1 keeps a dim) without copying. */
    public Tensor expand(int... sizes) { return Views.expand(this, sizes); }
    /** View of {@code length} elements of {@code dim} from {@code start}. */
    public Tensor narrow(int dim, int start, int length) { return Views.slice("narrow", this, dim, start, start + length, 1); }
    /** View of [start, end) with a positive step along dim (negative start/end count from the end). */
    public Tensor slice(int dim, int start, int end, int step) { return Views.slice(this, dim, start, end, step); }
    /** View of index {@code index} of {@code dim}, with that dim removed. */
    public Tensor select(int dim, int index) { return Views.select(this, dim, index); }
    public Tensor flatten() { return flatten(0, -1); }
    public Tensor flatten(int startDim, int endDim) { return Views.flatten(this, startDim, endDim); }
    public static Tensor cat(List<Tensor> tensors, int dim) { return Views.cat(tensors, dim); }
    public static Tensor stack(List<Tensor> tensors, int dim) { return Views.stack(tensors, dim); }
    /** Pieces of {@code splitSize} along dim (the last may be smaller). */
    public List<Tensor> split(int splitSize, int dim) { return Views.split(this, splitSize, dim); }
    /** {@code chunks} pieces along dim, as in torch.chunk. */
    public List<Tensor> chunk(int chunks, int dim) { return Views.chunk(this, chunks, dim); }
    /** Lower triangle of the last two dims (elements with col - row <= k kept). */
    public Tensor tril(int k) { return Views.triangle(this, k, true); }
    public Tensor triu(int k) { return Views.triangle(this, k, false); }

    // ---------------------------------------------------------------- indexing

    /** Entries of {@code dim} at the given (INT64/INT32) indices. */
    public Tensor indexSelect(int dim, Tensor index) { return Indexing.indexSelect(this, dim, index); }
    /** out[i][j][k] = this[index[i][j][k]][j][k] for dim 0, and so on (torch.gather). */
    public Tensor gather(int dim, Tensor index) { return Indexing.gather(this, dim, index); }
    /** A copy of this with {@code src} added at {@code index} along {@code dim} (torch.scatter_add). */
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) { return Indexing.scatterAdd(this, dim, index, src); }
    /** A copy of this with {@code src}'s rows added at {@code index} along {@code dim} (torch.index_add). */
    public Tensor indexAdd(int dim, Tensor index, Tensor src) { return Indexing.indexAdd(this, dim, index, src); }
    /** Rows of {@code weight} [num, dim] for each id in {@code ids}: shape ids.shape + [dim]. */
    public static Tensor embedding(Tensor weight, Tensor ids) { return Indexing.embedding(weight, ids); }
    /** INT64 class ids to FLOAT32 one-hot vectors with {@code numClasses} entries. */
    public Tensor oneHot(int numClasses) { return Indexing.oneHot(this, numClasses); }

    // ---------------------------------------------------------------- internals shared by the op classes

    float[] f() {
        return (float[]) data;
    }

    /** A contiguous FLOAT32 copy that owns its storage. */
    Tensor contiguousCopy() {
        Tensor src = toFloat();
        float[] out = FloatPool.uninitialized(numel()); // copyInto writes every element
        Tensor dst = wrap(out, shape.clone());
        Views.copyInto(dst, src);
        return dst;
    }
}
