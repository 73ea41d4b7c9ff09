package dev.kindling.onnx;
import java.nio.file.Path; import java.util.*;
public class FusionCheck { public static void main(String[] a) throws Exception {
  var f = OnnxModel.load(Path.of(a[0]), true); var u = OnnxModel.load(Path.of(a[0]), false);
  int b = 2, t = 24; long[] ids = new long[b*t], mask = new long[b*t]; Random r = new Random(3);
  for (int i = 0; i < ids.length; i++) { ids[i] = 1000 + r.nextInt(20000); mask[i] = i % t < 20 || i < t ? 1 : 0; }
  Map<String, Value> in = new HashMap<>();
  in.put("input_ids", Value.longs(DataType.INT64, ids, b, t)); in.put("attention_mask", Value.longs(DataType.INT64, mask, b, t)); in.put("token_type_ids", Value.longs(DataType.INT64, new long[b*t], b, t));
  float[] x = f.runValues(in)[0].f, y = u.runValues(in)[0].f; double m = 0; for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]-y[i]));
  System.out.println("max abs diff fused vs unfused: " + m + " steps " + f.graph().stepLabels().size() + " vs " + u.graph().stepLabels().size());
}}
