"""The dark theme: one palette, one style sheet and the colours the custom widgets paint with."""
from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

# Colours shared by the painted widgets (piano roll, meter, mood plane) and the style sheet.
BACKGROUND = QColor("#16181d")  # window
SURFACE = QColor("#1e2128")  # panels
SURFACE_HIGH = QColor("#272b34")  # inputs, buttons
GRID = QColor("#2c313b")  # piano-roll beat lines
GRID_BAR = QColor("#3d4450")  # piano-roll bar lines
TEXT = QColor("#e6e8ee")
TEXT_DIM = QColor("#9aa3b2")
ACCENT = QColor("#6c9cff")  # focus, selection, playhead glow
CHORD_NOTE = QColor("#7aa2ff")  # notes on the chord channel
BASS_NOTE = QColor("#f2a65a")  # notes on the bass channel
LOCKED = QColor("#ffd166")  # locked chords: outline + padlock
PLAYHEAD = QColor("#ff5c7a")
LISTENING = QColor("#e5484d")  # the microphone button while recording
BUSY = QColor("#d9a53f")  # transcribing / composing
PLAYING = QColor("#3fb97c")  # playing
METER_LOW = QColor("#3fb97c")
METER_MID = QColor("#e3c14b")
METER_HIGH = QColor("#e5484d")

STYLE_SHEET = f"""
QWidget {{ color: {TEXT.name()}; font-size: 10.5pt; }}
QMainWindow, QDialog {{ background: {BACKGROUND.name()}; }}
QFrame#panel {{ background: {SURFACE.name()}; border-radius: 10px; }}
QLabel#title {{ font-size: 12pt; font-weight: 600; color: {TEXT.name()}; }}
QLabel#caption {{ color: {TEXT_DIM.name()}; font-size: 9.5pt; }}
QLabel#status {{ font-size: 11pt; color: {TEXT.name()}; }}
QLabel#summary {{ color: {TEXT_DIM.name()}; font-size: 10.5pt; }}
QLabel#chip {{ background: #2f3a52; color: #cfe0ff; border-radius: 9px; padding: 2px 9px; }}
QPushButton, QToolButton {{
    background: {SURFACE_HIGH.name()}; border: 1px solid #353b46; border-radius: 7px;
    padding: 6px 12px; min-height: 20px;
}}
QPushButton:hover, QToolButton:hover {{ background: #313642; border-color: #4a5262; }}
QPushButton:pressed, QToolButton:pressed {{ background: #3a4150; }}
QPushButton:checked, QToolButton:checked {{ background: #2f4270; border-color: {ACCENT.name()}; }}
QPushButton:disabled, QToolButton:disabled {{ color: #5d6574; background: #1f2229; border-color: #2a2e37; }}
QPushButton#primary {{ background: #3559b8; border-color: #4c72d6; font-weight: 600; }}
QPushButton#primary:hover {{ background: #3d66d1; }}
QPushButton#primary:disabled {{ background: #1f2229; border-color: #2a2e37; }}
QPushButton#dragHandle {{ border-style: dashed; border-color: #56607a; }}
QLineEdit, QPlainTextEdit, QTextEdit, QComboBox, QSpinBox, QDoubleSpinBox {{
    background: {SURFACE_HIGH.name()}; border: 1px solid #353b46; border-radius: 7px;
    padding: 5px 8px; selection-background-color: {ACCENT.name()};
}}
QLineEdit:focus, QPlainTextEdit:focus, QComboBox:focus, QSpinBox:focus {{ border-color: {ACCENT.name()}; }}
QLineEdit#request {{ font-size: 13pt; padding: 9px 12px; }}
QComboBox QAbstractItemView {{ background: {SURFACE_HIGH.name()}; selection-background-color: #2f4270; }}
QListWidget {{ background: {SURFACE.name()}; border: none; outline: none; }}
QListWidget::item {{ padding: 8px 6px; border-bottom: 1px solid #262a32; }}
QListWidget::item:selected {{ background: #2a3550; border-radius: 6px; }}
QSlider::groove:horizontal {{ height: 4px; background: #353b46; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {ACCENT.name()}; width: 14px; margin: -6px 0; border-radius: 7px; }}
QSlider::sub-page:horizontal {{ background: #4c72d6; border-radius: 2px; }}
QProgressBar {{ background: {SURFACE_HIGH.name()}; border: none; border-radius: 4px; height: 8px;
    text-align: center; font-size: 8pt; max-height: 12px; }}
QProgressBar::chunk {{ background: {ACCENT.name()}; border-radius: 4px; }}
QStatusBar {{ background: {SURFACE.name()}; color: {TEXT_DIM.name()}; }}
QStatusBar::item {{ border: none; }}
QScrollBar:horizontal, QScrollBar:vertical {{ background: transparent; border: none; height: 10px; width: 10px; }}
QScrollBar::handle {{ background: #3a404c; border-radius: 5px; min-width: 30px; min-height: 30px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QToolTip {{ background: #2a2f3a; color: {TEXT.name()}; border: 1px solid #454d5c; padding: 5px; }}
QSplitter::handle {{ background: {BACKGROUND.name()}; }}
"""


def apply_theme(app: QApplication) -> None:
    """Fusion style + a dark palette (for the parts a style sheet does not reach) + the sheet."""
    app.setStyle("Fusion")
    palette = QPalette()
    palette.setColor(QPalette.Window, BACKGROUND)
    palette.setColor(QPalette.WindowText, TEXT)
    palette.setColor(QPalette.Base, SURFACE_HIGH)
    palette.setColor(QPalette.AlternateBase, SURFACE)
    palette.setColor(QPalette.Text, TEXT)
    palette.setColor(QPalette.Button, SURFACE_HIGH)
    palette.setColor(QPalette.ButtonText, TEXT)
    palette.setColor(QPalette.Highlight, ACCENT)
    palette.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ToolTipBase, SURFACE_HIGH)
    palette.setColor(QPalette.ToolTipText, TEXT)
    palette.setColor(QPalette.PlaceholderText, TEXT_DIM)
    palette.setColor(QPalette.Disabled, QPalette.Text, QColor("#5d6574"))
    palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#5d6574"))
    app.setPalette(palette)
    font = QFont("DejaVu Sans", 10)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
