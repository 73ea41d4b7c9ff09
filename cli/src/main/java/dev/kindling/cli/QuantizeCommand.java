package dev.kindling.cli;

import dev.kindling.models.ModelQuantizer;
import dev.kindling.models.ModelQuantizer.FeedForward;
import dev.kindling.models.ModelQuantizer.Rounding;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kindling quantize}: writes an int8 or int4 copy of a GPT-2 or BERT model folder. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Quantize a model folder's weight matrices to int8 or int4 (group-wise symmetric); generate and embed run the result.")
final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model folder (config.json, model.safetensors, tokenizer files).") Path model;
    @Option(names = "--out", required = true, description = "Folder to write the quantized model to.") Path out;
    @Option(names = "--bits", required = true, description = "8 or 4.") int bits;
    @Option(names = "--group-size", description = "Input features per scale, a multiple of 32; 0 = one scale per row "
            + "(default: 0 for 8 bits, 32 for 4 bits).") Integer groupSize;
    @Option(names = "--rounding", description = "nearest, or gptq (error-compensating rounding on calibration text; "
            + "default: gptq for 4 bits, nearest for 8).") String rounding;
    @Option(names = "--calibration", description = "Text file for gptq, one sample per non-empty line "
            + "(default: a built-in English text).") Path calibration;
    @Option(names = "--ffn-int8", description = "auto, yes or no: keep the feed-forward matrices (BERT intermediate and output "
            + "dense, GPT-2 mlp.c_fc and mlp.c_proj) of a 4-bit model in int8 (default: auto = yes for BERT, no for GPT-2).") String ffnInt8;

    @Override
    public Integer call() throws Exception {
        if (!Files.isDirectory(model)) throw new IllegalArgumentException("--model " + model + " is not a folder");
        ModelQuantizer.Options defaults = ModelQuantizer.Options.of(bits);
        Rounding round = rounding == null ? (calibration != null ? Rounding.GPTQ : defaults.rounding())
                : switch (rounding.toLowerCase(Locale.ROOT)) {
                    case "nearest" -> Rounding.NEAREST;
                    case "gptq" -> Rounding.GPTQ;
                    default -> throw new IllegalArgumentException("--rounding must be nearest or gptq, got '" + rounding + "'");
                };
        FeedForward ffn = ffnInt8 == null ? defaults.feedForward() : switch (ffnInt8.toLowerCase(Locale.ROOT)) {
            case "auto" -> FeedForward.AUTO;
            case "yes" -> FeedForward.INT8;
            case "no" -> FeedForward.SAME;
            default -> throw new IllegalArgumentException("--ffn-int8 must be auto, yes or no, got '" + ffnInt8 + "'");
        };
        if (calibration != null && !Files.isRegularFile(calibration))
            throw new IllegalArgumentException("--calibration " + calibration + " is not a file");
        var options = new ModelQuantizer.Options(bits, groupSize != null ? groupSize : defaults.groupSize(), round, calibration, ffn);
        long start = System.nanoTime();
        var r = ModelQuantizer.quantize(model, out, options);
        System.out.printf("quantized %d matrices to %d bits (%s%s; %s): %.1f MB -> %.1f MB, %.1f s; wrote %s%n", r.matrices(), bits,
                options.groupSize() == 0 ? "one scale per row" : "groups of " + options.groupSize(),
                r.int8Matrices() > 0 ? ", " + r.int8Matrices() + " feed-forward matrices in int8" : "",
                r.rounding() == Rounding.GPTQ ? "GPTQ on " + r.calibrationTokens() + " calibration tokens" : "round to nearest",
                r.bytesBefore() / 1e6, r.bytesAfter() / 1e6, (System.nanoTime() - start) / 1e9, out);
        if (r.note() != null) System.out.println("note: " + r.note());
        return 0;
    }
}
