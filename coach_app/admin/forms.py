from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from coach_app.forms import timezone_field


class InviteStaffForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        "Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    role = SelectField(
        "Role",
        choices=[("coach", "Coach"), ("organizer", "Workshop organizer"), ("admin", "Admin")],
    )
    timezone = timezone_field()
