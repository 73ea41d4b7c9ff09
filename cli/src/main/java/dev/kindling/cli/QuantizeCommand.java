package dev.kindling.cli;

import dev.kindling.models.ModelQuantizer;
import java.nio.file.Files;
import java.nio.file.Path;
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

    @Override
    public Integer call() throws Exception {
        if (!Files.isDirectory(model)) throw new IllegalArgumentException("--model " + model + " is not a folder");
        int group = groupSize != null ? groupSize : bits == 4 ? 32 : 0;
        long start = System.nanoTime();
        var r = ModelQuantizer.quantize(model, out, bits, group);
        System.out.printf("quantized %d matrices to %d bits (%s): %.1f MB -> %.1f MB, %.1f s; wrote %s%n", r.matrices(), bits,
                group == 0 ? "one scale per row" : "groups of " + group, r.bytesBefore() / 1e6, r.bytesAfter() / 1e6,
                (System.nanoTime() - start) / 1e9, out);
        return 0;
    }
}
