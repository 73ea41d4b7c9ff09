package dev.kindling.cli;

import dev.kindling.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

/** curves.png: loss (and accuracy, when present) per epoch or iteration, drawn with XChart. */
final class Curves {
    private Curves() {}

    /**
     * Plots one line per series key found in the records against {@code xKey}; keys ending in "accuracy"
     * go to a second chart below, since they live on another scale.
     */
    static void write(Path file, List<Map<String, Object>> records, String xKey, List<String> lossKeys, List<String> accuracyKeys,
                      String title) throws IOException {
        XYChart loss = chart(title + ": loss", xKey, "loss", records, xKey, lossKeys);
        XYChart acc = accuracyKeys.isEmpty() ? null : chart(title + ": accuracy", xKey, "accuracy", records, xKey, accuracyKeys);
        var image = acc == null ? BitmapEncoder.getBufferedImage(loss) : stack(loss, acc);
        AtomicFiles.write(file, out -> javax.imageio.ImageIO.write(image, "png", out));
    }

    private static java.awt.image.BufferedImage stack(XYChart a, XYChart b) {
        var ia = BitmapEncoder.getBufferedImage(a);
        var ib = BitmapEncoder.getBufferedImage(b);
        var img = new java.awt.image.BufferedImage(ia.getWidth(), ia.getHeight() + ib.getHeight(), java.awt.image.BufferedImage.TYPE_INT_RGB);
        var g = img.createGraphics();
        g.drawImage(ia, 0, 0, null);
        g.drawImage(ib, 0, ia.getHeight(), null);
        g.dispose();
        return img;
    }

    private static XYChart chart(String title, String xTitle, String yTitle, List<Map<String, Object>> records, String xKey, List<String> keys) {
        XYChart c = new XYChartBuilder().width(800).height(400).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        c.getStyler().setMarkerSize(6);
        c.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        for (String k : keys) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (Map<String, Object> r : records) {
                if (r.get(k) instanceof Number y && r.get(xKey) instanceof Number x && Double.isFinite(y.doubleValue())) {
                    xs.add(x.doubleValue());
                    ys.add(y.doubleValue());
                }
            }
            if (xs.isEmpty()) continue;
            XYSeries s = c.addSeries(k, xs, ys);
            s.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.CIRCLE);
        }
        return c;
    }
}
