//! `imi stats scoreboard`: the Single Market Scoreboard's IMI indicators by Member State, as a
//! table with the traffic lights, as CSV, or as charts (one bar chart per indicator, bars
//! coloured by their light) in SVG or PNG.

use anyhow::{anyhow, bail, Context, Result};
use chrono::{Datelike, NaiveDate, Utc};
use clap::{Subcommand, ValueEnum};
use imi_app::scoreboard::{figures, ScoreboardRow};
use imi_domain::scoreboard::{Colour, Indicator};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use sqlx::PgPool;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum StatsCommand {
    /// The Scoreboard's five indicators per Member State, their lights and overall score.
    Scoreboard {
        /// First day of the period (default: January 1st of this year).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Day after the period (default: tomorrow).
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Only requests of this legislative area.
        #[arg(long)]
        area: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Where to write (standard output when not given; required for png).
        #[arg(long)]
        output: Option<PathBuf>,
        /// The TrueType font the charts' text is drawn with.
        #[arg(long, env = "IMI_CHART_FONT", default_value = DEFAULT_FONT)]
        font: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Svg,
    Png,
}

/// Debian's fonts-dejavu-core.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

pub async fn run(pool: &PgPool, command: StatsCommand) -> Result<()> {
    let StatsCommand::Scoreboard {
        from,
        to,
        area,
        format,
        output,
        font,
    } = command;
    let today = Utc::now().date_naive();
    let from = from.unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).expect("a date"));
    let to = to.unwrap_or(today + chrono::Days::new(1));
    let rows = figures(pool, from, to, area.as_deref(), Utc::now())
        .await
        .map_err(|e| anyhow!("{}: {}", e.code.as_str(), e.message))?;
    let title = format!(
        "IMI Scoreboard {from} to {to}{}",
        area.map(|a| format!(", area {a}")).unwrap_or_default()
    );
    match format {
        Format::Table => write(output.as_deref(), &table(&title, &rows)),
        Format::Csv => write(output.as_deref(), &csv(&rows)),
        Format::Svg => {
            load_font(&font)?;
            let mut svg = String::new();
            draw(
                SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
                &title,
                &rows,
            )?;
            write(output.as_deref(), &svg)
        }
        Format::Png => {
            let output = output.context("--output is required for png")?;
            load_font(&font)?;
            draw(
                BitMapBackend::new(&output, SIZE).into_drawing_area(),
                &title,
                &rows,
            )
        }
    }
}

fn write(output: Option<&Path>, text: &str) -> Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn value(row: &ScoreboardRow, i: usize) -> Option<f64> {
    row.figures.get(i).and_then(|f| f.value())
}

/// One line per Member State: each figure with its light, then the overall score.
pub fn table(title: &str, rows: &[ScoreboardRow]) -> String {
    let mut out = format!("{title}\n");
    out.push_str(&format!("{:<4}", "MS"));
    for (n, _) in Indicator::ALL.iter().enumerate() {
        out.push_str(&format!("{:>14}", format!("({})", n + 1)));
    }
    out.push_str(&format!("{:>9}\n", "overall"));
    for row in rows {
        out.push_str(&format!("{:<4}", row.member_state));
        for f in &row.figures {
            let cell = match (f.value(), f.colour()) {
                (Some(v), Some(c)) => format!("{v:.1} {}", light(c)),
                _ => "-".to_string(),
            };
            out.push_str(&format!("{cell:>14}"));
        }
        out.push_str(&format!("{:>+9}\n", row.overall));
    }
    for (n, indicator) in Indicator::ALL.iter().enumerate() {
        out.push_str(&format!("({}) {}\n", n + 1, indicator.label()));
    }
    out
}

fn light(c: Colour) -> &'static str {
    match c {
        Colour::Green => "G",
        Colour::Yellow => "Y",
        Colour::Red => "R",
    }
}

/// One line per Member State and indicator, with the cases behind each figure.
pub fn csv(rows: &[ScoreboardRow]) -> String {
    let mut out = String::from("member_state,indicator,value,cases,light,overall\n");
    for row in rows {
        for f in &row.figures {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                row.member_state,
                f.indicator.as_str(),
                f.value().map(|v| format!("{v:.2}")).unwrap_or_default(),
                f.count,
                f.colour().map(Colour::as_str).unwrap_or_default(),
                row.overall
            ));
        }
    }
    out
}

const SIZE: (u32, u32) = (1200, 1500);

fn load_font(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "reading the charts' font {} (install fonts-dejavu-core or set IMI_CHART_FONT)",
            path.display()
        )
    })?;
    // plotters keeps registered fonts for the life of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow!("{} is not a TrueType font", path.display()))
}

fn rgb(c: Option<Colour>) -> RGBColor {
    match c {
        Some(Colour::Green) => RGBColor(46, 139, 87),
        Some(Colour::Yellow) => RGBColor(230, 180, 30),
        Some(Colour::Red) => RGBColor(200, 50, 50),
        None => RGBColor(180, 180, 180),
    }
}

/// A title, then one bar chart per indicator, stacked.
fn draw<B: DrawingBackend>(
    area: DrawingArea<B, Shift>,
    title: &str,
    rows: &[ScoreboardRow],
) -> Result<()>
where
    B::ErrorType: 'static,
{
    if rows.is_empty() {
        bail!("no Member State received requests in that period");
    }
    let fail = |e: DrawingAreaErrorKind<B::ErrorType>| anyhow!("drawing the charts: {e:?}");
    area.fill(&WHITE).map_err(fail)?;
    let area = area.titled(title, ("sans-serif", 28)).map_err(fail)?;
    let panels = area.split_evenly((Indicator::ALL.len(), 1));
    let count = rows.len();
    for ((i, indicator), panel) in Indicator::ALL.iter().enumerate().zip(&panels) {
        let top = rows.iter().filter_map(|r| value(r, i)).fold(
            match indicator {
                Indicator::DaysToAnswer => 30.0,
                _ => 100.0,
            },
            f64::max,
        );
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!("({}) {}", i + 1, indicator.label()),
                ("sans-serif", 18),
            )
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(44)
            // An integer range's last value is a category too: 0..=count-1.
            .build_cartesian_2d((0..count as i32 - 1).into_segmented(), 0.0..top)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(count)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(n) | SegmentValue::Exact(n) => rows
                    .get(*n as usize)
                    .map(|r| r.member_state.clone())
                    .unwrap_or_default(),
                SegmentValue::Last => String::new(),
            })
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(fail)?;
        let bars: Vec<(i32, f64, Option<Colour>)> = rows
            .iter()
            .enumerate()
            .filter_map(|(n, r)| {
                let f = r.figures.get(i)?;
                Some((n as i32, f.value()?, f.colour()))
            })
            .collect();
        chart
            .draw_series(bars.iter().map(|&(n, v, colour)| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(n), 0.0),
                        (SegmentValue::Exact(n + 1), v),
                    ],
                    rgb(colour).filled(),
                );
                bar.set_margin(0, 0, 4, 4);
                bar
            }))
            .map_err(fail)?;
        // The figure above each bar: a bar of 0 is no bar at all.
        chart
            .draw_series(bars.iter().map(|&(n, v, _)| {
                Text::new(
                    format!("{v:.1}"),
                    (SegmentValue::CenterOf(n), v),
                    TextStyle::from(("sans-serif", 12).into_font())
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }))
            .map_err(fail)?;
    }
    area.present().map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use imi_domain::scoreboard::{overall, Figure};

    fn row(member_state: &str, values: [(f64, i64); 5]) -> ScoreboardRow {
        let figures: Vec<Figure> = Indicator::ALL
            .iter()
            .zip(values)
            .map(|(&indicator, (numerator, count))| Figure {
                indicator,
                numerator,
                count,
            })
            .collect();
        ScoreboardRow {
            member_state: member_state.into(),
            overall: overall(&figures),
            figures,
        }
    }

    fn rows() -> Vec<ScoreboardRow> {
        vec![
            row(
                "AT",
                [(9.0, 10), (300.0, 20), (5.0, 10), (0.0, 4), (1.0, 4)],
            ),
            row(
                "DE",
                [(5.0, 10), (100.0, 10), (9.0, 10), (1.0, 10), (0.0, 10)],
            ),
            row("FR", [(7.0, 10), (0.0, 0), (7.0, 10), (0.0, 0), (0.0, 0)]),
        ]
    }

    #[test]
    fn the_table_shows_each_light_and_the_overall_score() {
        let table = table("t", &rows());
        let lines: Vec<&str> = table.lines().collect();
        // AT: 90 % G, 15 days G, 50 % R, 0 % G, 25 % R.
        assert!(
            lines[2].starts_with("AT") && lines[2].ends_with("+1"),
            "{table}"
        );
        assert!(
            lines[2].contains("90.0 G") && lines[2].contains("25.0 R"),
            "{table}"
        );
        // FR: no full reply and no rating: no figure, no light.
        assert!(
            lines[4].contains(" -") && lines[4].ends_with("+0"),
            "{table}"
        );
    }

    #[test]
    fn the_csv_has_a_line_per_member_state_and_indicator() {
        let csv = csv(&rows());
        assert_eq!(csv.lines().count(), 1 + 3 * 5);
        assert!(csv.contains("DE,ACCEPTED_IN_TIME,50.00,10,RED,2"), "{csv}");
        assert!(csv.contains("FR,DAYS_TO_ANSWER,,0,,0"), "{csv}");
    }

    #[test]
    fn the_charts_name_every_member_state() {
        load_font(Path::new(DEFAULT_FONT)).unwrap();
        let mut svg = String::new();
        draw(
            SVGBackend::with_string(&mut svg, SIZE).into_drawing_area(),
            "t",
            &rows(),
        )
        .unwrap();
        for ms in ["AT", "DE", "FR"] {
            // Once under each of the five charts.
            assert_eq!(svg.matches(&format!("\n{ms}\n</text>")).count(), 5, "{ms}");
        }
        let empty = draw(
            SVGBackend::with_string(&mut String::new(), SIZE).into_drawing_area(),
            "t",
            &[],
        );
        assert!(empty.is_err());
    }
}
